"""``python -m index``: the project's command line under its older name (see ``coop_assistant.cli``)."""

from coop_assistant.cli import main

main()
