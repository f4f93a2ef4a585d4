"""``python -m coop_assistant``: the command line."""

from coop_assistant.cli import main

main()
