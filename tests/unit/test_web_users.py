"""Users: Argon2id with a salt per user, 0600 file, strict roles, old format refused, re-read on change, lockout."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from web.errors import BadCredentials, LegacyPassword, LockedOut, UsersFileError
from web.users import LoginThrottle, Sessions, UserStore, write_user


def test_passwords_are_argon2id_with_a_salt_per_user_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_user(path, "alice", "le même mot de passe", admin=True)
    write_user(path, "bob", "le même mot de passe", admin=False)
    raw = json.loads(path.read_text())
    assert raw["alice"]["password"].startswith("$argon2id$") and raw["bob"]["password"].startswith("$argon2id$")
    assert raw["alice"]["password"] != raw["bob"]["password"], "a random salt per user"
    assert "le même mot de passe" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store = UserStore(path)
    assert store.verify("alice", "le même mot de passe").admin is True
    assert store.verify("bob", "le même mot de passe").admin is False
    with pytest.raises(BadCredentials):
        store.verify("alice", "mauvais mot de passe")
    with pytest.raises(BadCredentials):
        store.verify("inconnu", "le même mot de passe")
    assert not list(tmp_path.glob(".users-*")), "no temporary file left behind"


def test_short_passwords_and_odd_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsersFileError, match="trop court"):
        write_user(tmp_path / "u.json", "alice", "court", admin=False)
    with pytest.raises(UsersFileError, match="sans espaces"):
        write_user(tmp_path / "u.json", "alice martin", "assez long mot de passe", admin=False)


def test_roles_are_strict_booleans(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_user(path, "alice", "motdepasse-alice", admin=False)
    raw = json.loads(path.read_text())
    raw["mallory"] = {"password": raw["alice"]["password"], "admin": "false"}
    raw["eve"] = {"password": raw["alice"]["password"], "admin": 1}
    path.write_text(json.dumps(raw))
    store = UserStore(path)
    assert store.get("mallory") is None and store.get("eve") is None, "not admins, not users at all"
    problems = " ".join(store.problems())
    assert "mallory" in problems and "eve" in problems and "true ou false" in problems


def test_old_sha256_entries_are_refused_with_the_command_to_reset_them(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    digest = hashlib.sha256(b"carol:ancien-mot-de-passe").hexdigest()
    path.write_text(json.dumps({"carol": {"password_sha256": digest, "admin": True}}))
    store = UserStore(path)
    assert store.get("carol") is None
    assert any("python -m assistant add-user carol --file" in p for p in store.problems())
    with pytest.raises(LegacyPassword, match="add-user carol"):
        store.verify("carol", "ancien-mot-de-passe")  # the right old password: told how to get a new one
    with pytest.raises(BadCredentials):
        store.verify("carol", "pas le bon")  # a wrong one learns nothing


def test_a_broken_file_is_an_error_at_start(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{pas du json")
    with pytest.raises(UsersFileError, match="illisible"):
        UserStore(path)
    with pytest.raises(UsersFileError, match="introuvable"):
        UserStore(tmp_path / "absent.json")


def test_the_file_is_re_read_when_it_changes_and_revoking_ends_sessions(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_user(path, "alice", "motdepasse-alice", admin=True)
    write_user(path, "bob", "motdepasse-bob", admin=False)
    store = UserStore(path, check_every=0)
    sessions = Sessions(store)
    bob_token = sessions.open(store.verify("bob", "motdepasse-bob"))
    alice_token = sessions.open(store.verify("alice", "motdepasse-alice"))
    assert sessions.user(bob_token).name == "bob"  # type: ignore[union-attr]

    raw = json.loads(path.read_text())
    del raw["bob"]
    raw["alice"]["admin"] = False
    path.write_text(json.dumps(raw))
    os.utime(path, ns=(1, 1))  # a different stamp even within the same clock tick
    assert sessions.user(bob_token) is None, "revoked without a restart"
    assert sessions.user(alice_token).admin is False, "demoted without a restart"  # type: ignore[union-attr]

    write_user(path, "alice", "nouveau-mot-de-passe", admin=True)
    assert sessions.user(alice_token) is None, "a new password ends the old sessions"

    path.write_text("{cassé")
    os.utime(path, ns=(2, 2))
    assert store.get("alice") is None, "a broken file lets nobody in"
    assert store.login_required


def test_sessions_expire(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_user(path, "alice", "motdepasse-alice", admin=True)
    now = [1000.0]
    sessions = Sessions(UserStore(path), max_age=60, clock=lambda: now[0])
    token = sessions.open(UserStore(path).verify("alice", "motdepasse-alice"))
    assert sessions.user(token) is not None
    now[0] += 61
    assert sessions.user(token) is None
    assert sessions.user("jeton-inventé") is None and sessions.user(None) is None


def test_lockout_after_repeated_failures_per_name_and_per_address() -> None:
    now = [0.0]
    throttle = LoginThrottle(per_user=3, per_address=5, window=60, lockout=300, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("alice", "10.0.0.1")
        throttle.failed("alice", "10.0.0.1")
    with pytest.raises(LockedOut, match="réessayez dans 5 minutes"):
        throttle.check("alice", "10.0.0.2")  # the name is locked, from any address
    throttle.check("bob", "10.0.0.3")
    for name in ("u1", "u2"):  # the address had 3 failures; 2 more lock it for every name
        throttle.failed(name, "10.0.0.1")
    with pytest.raises(LockedOut):
        throttle.check("zoe", "10.0.0.1")
    now[0] += 301
    throttle.check("alice", "10.0.0.1")  # the lockout ends by itself


def test_failures_outside_the_window_do_not_count_and_success_resets() -> None:
    now = [0.0]
    throttle = LoginThrottle(per_user=3, window=60, lockout=300, clock=lambda: now[0])
    throttle.failed("alice", "a")
    throttle.failed("alice", "a")
    throttle.succeeded("alice")
    throttle.failed("alice", "a")
    now[0] += 61
    throttle.failed("alice", "a")
    throttle.check("alice", "a")


def test_add_user_command_keeps_working(tmp_path: Path) -> None:
    from assistant.__main__ import app

    path = tmp_path / "users.json"
    result = CliRunner().invoke(
        app, ["add-user", "dora", "--file", str(path), "--admin"], input="motdepasse-dora\nmotdepasse-dora\n"
    )
    assert result.exit_code == 0, result.output
    assert UserStore(path).verify("dora", "motdepasse-dora").admin is True
    short = CliRunner().invoke(app, ["add-user", "eli", "--file", str(path)], input="court\ncourt\n")
    assert short.exit_code == 2 and "trop court" in short.output
