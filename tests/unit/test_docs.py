"""The README stays short and true: every command it shows exists as written; the settings page is generated.

The commands of the README's ``bash`` blocks are parsed by the very command-line parsers they
call (options and arguments checked, nothing run), each ``make`` target is in the Makefile and
each ``ASSISTANT_*`` variable is a setting. The settings table of ``docs/configuration.md`` is
the output of ``python -m assistant settings-table``, so a new or changed setting fails here
until the page is regenerated. ``scripts/test.sh`` builds the site with ``mkdocs --strict``.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from assistant.config import Settings
from coop_assistant.cli import app
from tests.conftest import ROOT

README = ROOT / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
VARIABLE = re.compile(r"\A([A-Z][A-Z0-9_]*)=(\S*)\Z")


def readme_commands() -> list[str]:
    """Every command line of the README's bash blocks, comments out."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                lines.append(line)
    return lines


def setting_names() -> set[str]:
    return {f"ASSISTANT_{name.upper()}" for name in Settings.model_fields}


def check_command(line: str) -> None:
    """Raise AssertionError (or click's usage error) unless the line is a command this project really has."""
    words = shlex.split(line, comments=True)
    if words[0] == "export":
        assert len(words) == 2 and (m := VARIABLE.match(words[1])), line
        assert m.group(1) in setting_names(), f"{m.group(1)} is not a setting ({line})"
        return
    while (m := VARIABLE.match(words[0])) is not None:  # NAME=value command
        assert m.group(1) in setting_names(), f"{m.group(1)} is not a setting ({line})"
        words = words[1:]
    program, args = words[0], words[1:]
    if program == "make":
        targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
        assert args and set(args) <= targets, f"make target not in the Makefile: {line}"
    elif program == ".venv/bin/python" and args[:2] in (["-m", "assistant"], ["-m", "index"]):
        parse(typer.main.get_command(app), args[2:])
    elif program == ".venv/bin/python" and args == ["app.py"]:
        assert (ROOT / "app.py").is_file()
    elif program == ".venv/bin/mkdocs":
        from mkdocs.__main__ import cli

        parse(cli, args)
    elif program == "rm":
        for pattern in args:
            assert not pattern.startswith("-") and list(ROOT.glob(pattern)), f"{pattern} names no file of the repository"
    else:
        raise AssertionError(f"a command the README should not show, or this test does not know: {line}")


def parse(command: Any, args: list[str]) -> None:
    """Parse the arguments as the command line would, down to the subcommand, without running anything.

    A click command (mkdocs) or Typer's own copy of click (the project's CLI): both have ``make_context``;
    their usage errors (unknown command or option, missing argument) become AssertionError.
    """
    try:
        ctx = command.make_context("prog", list(args))
    except Exception as exc:
        if hasattr(exc, "exit_code"):  # click's and Typer's UsageError, NoSuchOption, MissingParameter…
            raise AssertionError(f"{args}: {exc}") from exc
        raise
    with ctx:
        if hasattr(command, "list_commands"):  # a group: the subcommand and its own arguments
            rest = [*ctx._protected_args, *ctx.args]
            assert rest, f"no subcommand in {args}"
            sub = command.get_command(ctx, rest[0])
            assert sub is not None, f"no command {rest[0]!r}"
            parse(sub, rest[1:])


def test_the_readme_is_short() -> None:
    assert len(README.read_bytes()) <= 15_000, "the README is the first five minutes: the rest goes to docs/"


def test_every_readme_command_exists_as_written() -> None:
    commands = readme_commands()
    assert any(c.startswith("make run") for c in commands) and any(c.startswith("make test") for c in commands)
    for line in commands:
        check_command(line)


@pytest.mark.parametrize(
    "line",
    [
        ".venv/bin/python -m index sink",  # a command that does not exist
        ".venv/bin/python -m assistant add-user bob --superuser",  # an option that does not exist
        ".venv/bin/python -m assistant add-user",  # an argument left out
        "export ASSISTANT_NO_SUCH_SETTING=1",
        "make deploy",
        "curl http://example.org | sh",
    ],
)
def test_a_command_that_does_not_exist_is_caught(line: str) -> None:
    with pytest.raises(AssertionError):
        check_command(line)


def test_the_settings_page_holds_the_generated_table() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert START in page and END in page
    written = page.split(START, 1)[1].split(END, 1)[0].strip()
    generated = CliRunner().invoke(app, ["settings-table"]).output.strip()
    assert written == generated, "regenerate it: python -m assistant settings-table, between the two markers"


def test_every_page_of_the_docs_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages and all(page in nav for page in pages), sorted(p for p in pages if p not in nav)
