"""Settings and messages of the OpenAI-compatible backend that need no server (the server tests are in integration)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from assistant.backends import BackendUnavailable, OpenAICompatibleBackend, _without_credentials, make_backend
from assistant.config import Settings
from coop_assistant.cli import app

SECRET = "sk-tres-secret-42"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    for name in list(os.environ):
        if name.startswith(("ASSISTANT_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1"),
        ("https://alice:motdepasse@gpu.example.org/v1?api_key=abc", "https://gpu.example.org/v1"),
        ("http://[::1]:1234/v1", "http://[::1]:1234/v1"),
        ("http://host:port/v1", "http://host/v1"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert _without_credentials(url) == shown


def test_the_key_is_read_from_the_environment_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_OPENAI_BASE_URL", "http://alice:pw@127.0.0.1:9/v1")
    monkeypatch.setenv("ASSISTANT_OPENAI_MODEL", "qwen2.5-7b-instruct")
    monkeypatch.setenv("ASSISTANT_OPENAI_API_KEY", SECRET)
    s = Settings()
    assert s.backend == "openai" and s.openai_api_key is not None and s.openai_api_key.get_secret_value() == SECRET
    backend = OpenAICompatibleBackend.from_settings(s)
    assert backend.where == "http://127.0.0.1:9/v1" and backend.label == "Serveur de modèles · qwen2.5-7b-instruct"
    for text in (repr(s), str(s), s.model_dump_json(), repr(backend), str(vars(backend).get("label"))):
        assert SECRET not in text


def test_openai_without_an_address_says_what_to_set() -> None:
    with pytest.raises(BackendUnavailable, match="ASSISTANT_OPENAI_BASE_URL"):
        make_backend(Settings(backend="openai"))


def test_cli_accepts_openai_and_the_table_lists_its_settings() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["settings-table"]).output
    for name in ("ASSISTANT_OPENAI_BASE_URL", "ASSISTANT_OPENAI_MODEL", "ASSISTANT_OPENAI_API_KEY", "ASSISTANT_OPENAI_TIMEOUT"):
        assert f"`{name}`" in table
    refused = runner.invoke(app, ["ask", "Une question ?", "--backend", "gpt"])
    assert refused.exit_code == 2 and "'openai'" in refused.output
    accepted = runner.invoke(app, ["ask", "Une question ?", "--backend", "openai", "--data", "vide"])
    assert accepted.exit_code == 2 and "aucun index" in accepted.output, "past the backend check, stopped at the index"
