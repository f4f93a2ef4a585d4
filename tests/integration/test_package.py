"""``pip install .`` gives a copy that runs outside the checkout: prompts and migrations inside, one console command.

The wheel is built from the checkout and installed (without its dependencies, which the test's
environment already has) into a folder of its own; everything below runs from another folder, with
that copy first on the path, so a file read from the checkout instead of the package fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("package")
    wheels, site = tmp / "wheels", tmp / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], check=True, timeout=300)
    (wheel,) = wheels.glob("coop_assistant-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    return site


def run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_installed_copy_is_the_one_that_runs_and_has_its_files(installed: Path, tmp_path: Path) -> None:
    code = (
        "import assistant, database, prompts, web, index, coop_assistant\n"
        "from assistant.prompts import load_prompts\n"
        "from database import Database\n"
        "mods = (assistant, database, prompts, web, index, coop_assistant)\n"
        "print('\\n'.join(m.__file__ for m in mods))\n"
        "p = load_prompts()\n"
        "assert '{question}' in p.answer_user, 'the templates are read from the package'\n"
        "db = Database.open('sqlite:///' + 'assistant.db')\n"
        "print('revision', db.revision())\n"
        "db.dispose()\n"
    )
    done = run(installed, tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr
    files, revision = done.stdout.splitlines()[:-1], done.stdout.splitlines()[-1]
    assert files and all(Path(f).is_relative_to(installed) for f in files), files
    assert revision.startswith("revision ") and revision != "revision None", "the migrations ran from the package"
    assert (tmp_path / "assistant.db").is_file()


def test_one_console_command_with_help_everywhere(installed: Path, tmp_path: Path) -> None:
    assert (installed / "bin" / "coop-assistant").is_file(), "pip wrote the console command"
    top = run(installed, tmp_path, "-m", "coop_assistant", "--help")
    assert top.returncode == 0, top.stderr
    for command in ("serve", "sync", "status", "ask", "eval", "add-user", "settings-table"):
        assert command in top.stdout
        sub = run(installed, tmp_path, "-m", "coop_assistant", command, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout, (command, sub.stderr)


def test_app_py_says_how_to_use_it_instead_of_starting() -> None:
    done = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ASSISTANT_" in done.stdout
    wrong = subprocess.run([sys.executable, "app.py", "--port", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "Usage" in wrong.stderr
