"""The worker process: what it inherits, its deadline, its temporary folder, and its end with its parent."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from index.worker import Deadline, worker_environment
from tests.documents import nested_html

ROOT = Path(__file__).resolve().parents[2]


def test_only_what_a_parser_needs_is_handed_on() -> None:
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/app",
        "LANG": "fr_FR.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TESSDATA_PREFIX": "/usr/share/tessdata",
        "PYTHONPATH": "/opt/extra",
        "ASSISTANT_DATABASE_URL": "postgresql://app:motdepasse@db/assistant",
        "ASSISTANT_OPENAI_API_KEY": "sk-1",
        "OPENAI_API_KEY": "sk-2",
        "HF_TOKEN": "hf_x",
        "GITHUB_TOKEN": "ghp_x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "PGPASSWORD": "x",
        "DATABASE_URL": "postgresql://x",
        "LC_SECRET": "x",  # a kept prefix does not let a secret through
        "SSH_AUTH_SOCK": "/tmp/agent",
        "http_proxy": "http://user:pass@proxy:3128",
    }
    env = worker_environment(parent, "/tmp/private")
    assert set(env) == {"PATH", "HOME", "LANG", "LC_ALL", "TESSDATA_PREFIX", "PYTHONPATH", "OMP_THREAD_LIMIT", "TMPDIR"}
    assert env["TMPDIR"] == "/tmp/private" and env["OMP_THREAD_LIMIT"] == "1"
    assert env["PYTHONPATH"] == f"{ROOT}{os.pathsep}/opt/extra", "the project first, then what was there"


def test_a_deadline_extends_up_to_its_cap() -> None:
    deadline = Deadline(10, cap=25)
    assert deadline.allowed == 10 and not deadline.capped
    deadline.extend(10)
    assert deadline.allowed == 20 and not deadline.capped
    deadline.extend(10)
    assert deadline.allowed == 25 and deadline.capped
    assert Deadline(30, cap=5).allowed == 5 and Deadline(30, cap=5).capped
    assert 0 < Deadline(10).remaining() <= 10 and not Deadline(10).capped


def test_a_busy_worker_whose_parent_dies_exits_by_itself(tmp_path: Path) -> None:
    # a parent that sets its worker on a file that takes minutes to read, and dies (as under SIGKILL)
    hostile = tmp_path / "imbrique.html"
    hostile.write_bytes(nested_html())
    parent = textwrap.dedent(
        f"""
        import os, threading, time
        from pathlib import Path
        from index.isolation import IsolatedReader, ReadLimits
        reader = IsolatedReader(limits=ReadLimits(seconds=600))
        reader.worker.start()
        threading.Thread(target=reader.read, args=(Path({str(hostile)!r}),), daemon=True).start()
        time.sleep(1)
        print(reader.worker.pid, reader.worker.tmpdir, flush=True)
        os._exit(0)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pid_text, tmpdir = proc.stdout.readline().split()
    proc.wait(timeout=30)
    pid = int(pid_text)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid), "the orphaned worker is still reading"
    assert not Path(tmpdir).exists(), "the orphan removed its temporary folder"


def test_an_idle_worker_whose_parent_dies_exits_and_removes_its_folder() -> None:
    parent = "import os\nfrom index.worker import Worker\nw = Worker('index.render', 1024)\nw.start()\nprint(w.pid, w.tmpdir, flush=True)\nos._exit(0)"
    out = subprocess.run([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=60, check=True)
    pid_text, tmpdir = out.stdout.split()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_alive(int(pid_text)) or Path(tmpdir).exists()):
        time.sleep(0.05)
    assert not _alive(int(pid_text)) and not Path(tmpdir).exists()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


@pytest.mark.parametrize("module", ["index.isolation", "index.render"])
def test_the_worker_runs_in_a_session_of_its_own_and_its_folder_goes_with_it(module: str) -> None:
    from index.worker import Worker

    worker = Worker(module, 1024)
    worker.start()
    pid, tmpdir = worker.pid, worker.tmpdir
    assert pid is not None and tmpdir is not None and Path(tmpdir).is_dir()
    assert os.getsid(pid) == pid != os.getsid(0), "killing its group kills what it starts, and nothing of ours"
    worker.close()
    assert worker.pid is None and not Path(tmpdir).exists()


def test_a_request_past_its_cpu_time_ends_the_worker_even_if_nobody_kills_it(tmp_path: Path) -> None:
    import signal

    from index.loaders import LoadOptions
    from index.worker import Worker, WorkerCrashed

    hostile = tmp_path / "imbrique.html"
    hostile.write_bytes(nested_html())
    worker = Worker("index.isolation", 1024, cpu_seconds=1)
    try:
        started = time.monotonic()
        with pytest.raises(WorkerCrashed) as info:
            worker.call((str(hostile), hostile.name, LoadOptions(), None), Deadline(60))
        assert info.value.returncode == -signal.SIGXCPU
        assert time.monotonic() - started < 10
    finally:
        worker.close()
