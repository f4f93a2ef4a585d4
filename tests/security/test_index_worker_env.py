"""The processes that read and draw hostile files inherit no secret: a parser exploited there finds none.

Before: the reader worker copied the whole environment (database URL with its password, API keys).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.isolation import IsolatedReader
from index.render import PageRenderer, RenderLimits
from tests.documents import make_docx, make_pdf

SECRETS = {
    "ASSISTANT_DATABASE_URL": "postgresql://assistant:motdepasse-base@db:5432/assistant",
    "ASSISTANT_OPENAI_API_KEY": "sk-cle-du-service",
    "ASSISTANT_SECRET_KEY": "cle-des-sessions",
    "DATABASE_URL": "postgresql://autre:motdepasse-autre@db/x",
    "OPENAI_API_KEY": "sk-cle-openai",
    "HF_TOKEN": "hf_jeton",
    "GITHUB_TOKEN": "ghp_jeton",
    "AWS_SECRET_ACCESS_KEY": "secret-aws",
    "PGPASSWORD": "motdepasse-pg",
}


@pytest.fixture()
def secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def assert_no_secret(pid: int, tmpdir: str | None) -> None:
    env = environment_of(pid)
    assert "PATH" in env and env["TMPDIR"] == tmpdir, "the worker's environment was read"
    leaked = {name for name in env if name in SECRETS or name.startswith("ASSISTANT_")}
    assert not leaked, f"handed to the worker: {sorted(leaked)}"
    values = "\0".join(env.values())
    assert not [value for value in SECRETS.values() if value in values]


@pytest.mark.usefixtures("secrets_in_environment")
def test_the_reader_worker_has_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "rapport.docx"
    path.write_bytes(make_docx())
    with IsolatedReader() as reader:
        assert "Xiamen" in reader.read(path).text  # it works without them
        pid = reader.worker.pid
        assert pid is not None
        assert_no_secret(pid, reader.worker.tmpdir)


@pytest.mark.usefixtures("secrets_in_environment")
def test_the_drawing_worker_has_no_secret() -> None:
    renderer = PageRenderer(RenderLimits(workers=1))
    try:
        assert renderer.render(make_pdf([["Le budget atteint 2,4 millions d'euros."]]), 1, "budget").found
        [worker] = renderer.workers
        assert worker.pid is not None
        assert_no_secret(worker.pid, worker.tmpdir)
    finally:
        renderer.close()
