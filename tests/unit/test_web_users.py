"""Users in the database: Argon2id with a salt per user, strict roles, old format refused, changes seen live, sessions shared, lockout."""

from __future__ import annotations

import hashlib
import json
import secrets
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from database import Database
from database.schema import login_sessions, users
from web.errors import BadCredentials, LegacyPassword, LockedOut, UsersFileError
from web.throttle import LoginThrottle
from web.users import (
    Sessions,
    UserStore,
    import_users_file,
    remove_user,
    set_admin,
    write_user,
)


def test_passwords_are_argon2id_with_a_salt_per_user(db: Database) -> None:
    write_user(db, "alice", "le même mot de passe", admin=True)
    write_user(db, "bob", "le même mot de passe", admin=False)
    with db.read() as conn:
        stored = dict(conn.execute(sa.select(users.c.name, users.c.password_hash)).all())
    assert stored["alice"].startswith("$argon2id$") and stored["bob"].startswith("$argon2id$")
    assert stored["alice"] != stored["bob"], "a random salt per user"
    assert "le même mot de passe" not in json.dumps(stored)
    store = UserStore(db)
    assert store.login_required
    assert store.verify("alice", "le même mot de passe").admin is True
    assert store.verify("bob", "le même mot de passe").admin is False
    with pytest.raises(BadCredentials):
        store.verify("alice", "mauvais mot de passe")
    with pytest.raises(BadCredentials):
        store.verify("inconnu", "le même mot de passe")


def test_short_passwords_and_odd_names_are_refused(db: Database) -> None:
    with pytest.raises(UsersFileError, match="trop court"):
        write_user(db, "alice", "court", admin=False)
    with pytest.raises(UsersFileError, match="sans espaces"):
        write_user(db, "alice martin", "assez long mot de passe", admin=False)


def test_roles_are_strict_booleans_in_the_database(db: Database) -> None:
    write_user(db, "alice", "motdepasse-alice", admin=False)
    with pytest.raises(sa.exc.StatementError), db.write() as conn:  # a string is not a role, for the database either
        conn.execute(sa.update(users).where(users.c.name == "alice").values(admin="false"))
    assert UserStore(db).get("alice").admin is False  # type: ignore[union-attr]


def test_without_accounts_no_login_is_asked_and_it_stays_asked(db: Database) -> None:
    assert not UserStore(db).login_required
    write_user(db, "alice", "motdepasse-alice", admin=True)
    store = UserStore(db, check_every=0)
    assert store.login_required
    assert remove_user(db, "alice")
    assert store.get("alice") is None and store.login_required, "removing every account lets nobody in, never opens the app"
    assert UserStore(db, required=True).login_required


def test_changes_are_seen_without_restart_and_revoking_ends_sessions(db: Database) -> None:
    write_user(db, "alice", "motdepasse-alice", admin=True)
    write_user(db, "bob", "motdepasse-bob", admin=False)
    store = UserStore(db, check_every=0)
    sessions = Sessions(store, check_every=0)
    bob_token = sessions.open(store.verify("bob", "motdepasse-bob"))
    alice_token = sessions.open(store.verify("alice", "motdepasse-alice"))
    assert sessions.user(bob_token).name == "bob"  # type: ignore[union-attr]

    assert remove_user(db, "bob")
    assert set_admin(db, "alice", False)
    assert sessions.user(bob_token) is None, "revoked without a restart"
    assert sessions.user(alice_token).admin is False, "demoted without a restart"  # type: ignore[union-attr]

    write_user(db, "alice", "nouveau-mot-de-passe", admin=True)
    assert sessions.user(alice_token) is None, "a new password ends the old sessions"
    assert not set_admin(db, "inconnu", True) and not remove_user(db, "inconnu")


def test_a_session_opened_on_one_copy_is_valid_on_another(db: Database) -> None:
    """Two copies of the app behind a load balancer: their own UserStore and Sessions, the same database."""
    write_user(db, "alice", "motdepasse-alice", admin=True)
    copy1, copy2 = UserStore(db, check_every=0), UserStore(Database.open(db.engine.url.render_as_string(False)), check_every=0)
    sessions1, sessions2 = Sessions(copy1, check_every=0), Sessions(copy2, check_every=0)
    token = sessions1.open(copy1.verify("alice", "motdepasse-alice"))
    assert sessions2.user(token).name == "alice"  # type: ignore[union-attr]
    sessions2.close(token)  # logged out through copy 2
    assert sessions1.user(token) is None, "logged out on every copy"
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(login_sessions)).scalar() == 0
        assert conn.execute(sa.select(login_sessions.c.token_hash)).first() is None
    token = sessions1.open(copy1.verify("alice", "motdepasse-alice"))
    with db.read() as conn:
        kept = conn.execute(sa.select(login_sessions.c.token_hash)).scalar()
    assert kept != token and kept == hashlib.sha256(token.encode()).hexdigest(), "only a hash of the token is stored"
    copy2.db.dispose()


def test_sessions_expire(db: Database) -> None:
    write_user(db, "alice", "motdepasse-alice", admin=True)
    now = [1000.0]
    store = UserStore(db)
    sessions = Sessions(store, max_age=60, clock=lambda: now[0], check_every=0)
    token = sessions.open(store.verify("alice", "motdepasse-alice"))
    assert sessions.user(token) is not None
    now[0] += 61
    assert sessions.user(token) is None
    assert sessions.user("jeton-inventé") is None and sessions.user(None) is None


def write_legacy_file(path: Path) -> None:
    """A users file as the version before the database wrote it (plus the two kinds of refused entries)."""
    from web.users import HASHER

    raw = {
        "alice": {"password": HASHER.hash("motdepasse-alice"), "admin": True},
        "bob": {"password": HASHER.hash("motdepasse-bob"), "admin": False},
        "carol": {"password_sha256": hashlib.sha256(b"carol:ancien-mot-de-passe").hexdigest(), "admin": True},
        "mallory": {"password": HASHER.hash("motdepasse-mallory"), "admin": "false"},
    }
    path.write_text(json.dumps(raw))
    path.chmod(0o600)


def test_the_users_file_is_imported_once_with_refused_entries_kept_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    write_legacy_file(path)
    assert import_users_file(db, path)
    assert not import_users_file(db, path), "imported once"
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600, "the file is left untouched"
    store = UserStore(db)
    assert store.verify("alice", "motdepasse-alice").admin is True
    assert store.verify("bob", "motdepasse-bob").admin is False
    assert store.get("carol") is None and store.get("mallory") is None, "not admins, not users at all"
    problems = " ".join(store.problems())
    assert "python -m assistant add-user carol" in problems and "mallory" in problems and "true ou false" in problems
    with pytest.raises(LegacyPassword, match="add-user carol"):
        store.verify("carol", "ancien-mot-de-passe")  # the right old password: told how to get a new one
    with pytest.raises(BadCredentials):
        store.verify("carol", "pas le bon")  # a wrong one learns nothing
    with pytest.raises(BadCredentials):
        store.verify("mallory", "motdepasse-mallory")
    assert set_admin(db, "mallory", False)  # the role was what was wrong: set it, the password stays
    assert UserStore(db).verify("mallory", "motdepasse-mallory").admin is False
    write_user(db, "carol", "nouveau-mot-de-passe", admin=True)
    assert UserStore(db).verify("carol", "nouveau-mot-de-passe").admin is True


def test_a_broken_or_missing_users_file_is_an_error_at_start(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{pas du json")
    with pytest.raises(UsersFileError, match="illisible"):
        import_users_file(db, path)
    with pytest.raises(UsersFileError, match="introuvable"):
        import_users_file(db, tmp_path / "absent.json")
    assert not UserStore(db).login_required, "nothing imported"


def throttles(kind: str, request: pytest.FixtureRequest, clock):  # type: ignore[no-untyped-def]
    """Two copies of the app counting in one database (SQLite or PostgreSQL)."""
    if kind == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'assistant.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"t_{secrets.token_hex(6)}"
        server.admin(f"CREATE DATABASE {name}")
        request.addfinalizer(lambda: server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        url = server.url(name)
    copies = [Database.open(url), Database.open(url)]
    for copy in copies:
        request.addfinalizer(copy.dispose)
    return tuple(
        LoginThrottle(c, free_per_name=3, free_per_address=5, free_per_name_anywhere=8, max_delay=300, window=600, clock=clock)
        for c in copies
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_tries_past_the_free_ones_wait_longer_each_time_on_every_copy(kind: str, request: pytest.FixtureRequest) -> None:
    now = [1000.0]
    copy1, copy2 = throttles(kind, request, lambda: now[0])
    for i in range(3):  # behind a load balancer, the tries land on either copy
        (copy1 if i % 2 else copy2).attempt("alice", "10.0.0.1")
    for throttle in (copy1, copy2):
        with pytest.raises(LockedOut, match="réessayez dans 1 seconde"):
            throttle.attempt("alice", "10.0.0.1")
    copy1.attempt("alice", "10.0.0.2")  # the same name from another address is not held back
    now[0] += 1.5
    copy2.attempt("alice", "10.0.0.1")  # the 4th try, after its wait
    with pytest.raises(LockedOut, match="2 secondes"):
        copy1.attempt("alice", "10.0.0.1")  # then twice as long
    now[0] += 2.5
    copy1.attempt("alice", "10.0.0.1")
    with pytest.raises(LockedOut, match="4 secondes"):
        copy2.attempt("alice", "10.0.0.1")
    copy1.attempt("bob", "10.0.0.3")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_address_that_tries_many_names_waits_and_success_gives_the_try_back(kind: str, request: pytest.FixtureRequest) -> None:
    now = [1000.0]
    throttle, other = throttles(kind, request, lambda: now[0])
    for name in ("u1", "u2", "u3", "u4"):
        throttle.attempt(name, "10.0.0.9")
    other.attempt("zoe", "10.0.0.9")
    other.succeeded("zoe", "10.0.0.9")  # a right password: not counted against the address
    throttle.attempt("u5", "10.0.0.9")
    with pytest.raises(LockedOut):
        other.attempt("u6", "10.0.0.9")  # the address's 5 free tries are spent
    throttle.attempt("u6", "10.0.0.10")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_name_tried_from_everywhere_waits_a_little_and_an_admin_unlocks_it(kind: str, request: pytest.FixtureRequest) -> None:
    now = [1000.0]
    throttle, other = throttles(kind, request, lambda: now[0])
    for i in range(8):
        throttle.attempt("alice", f"10.1.0.{i}")
    with pytest.raises(LockedOut, match="seconde"):
        other.attempt("alice", "10.2.0.1")  # the name's own count, from any address
    assert {h.key for h in other.held()} >= {"user:alice"}
    assert other.unlock("alice") >= 1
    throttle.attempt("alice", "10.2.0.1")
    now[0] += 601
    for _ in range(3):
        throttle.attempt("alice", "10.0.0.1")  # tries older than the window are forgotten


def test_thirty_tries_at_once_get_three_checks(tmp_path: Path) -> None:
    import concurrent.futures

    db = Database.open(f"sqlite:///{tmp_path / 'assistant.db'}")
    throttle = LoginThrottle(db)

    def attempt(i: int) -> bool:
        try:
            throttle.attempt("alice", "10.0.0.66")
        except LockedOut:
            return False
        return True

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        passed = sum(pool.map(attempt, range(30)))
    db.dispose()
    assert passed == 3


def test_account_commands_write_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    from coop_assistant.cli import app

    monkeypatch.setenv("ASSISTANT_DATABASE_URL", database_url)
    data = str(tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(app, ["add-user", "dora", "--admin", "--data", data], input="motdepasse-dora\nmotdepasse-dora\n")
    assert result.exit_code == 0, result.output
    assert "sans redémarrer" in result.output
    db = Database.open(database_url)
    try:
        assert UserStore(db).verify("dora", "motdepasse-dora").admin is True
        short = runner.invoke(app, ["add-user", "eli", "--data", data], input="court\ncourt\n")
        assert short.exit_code == 2 and "trop court" in short.output
        assert runner.invoke(app, ["set-role", "dora", "--staff", "--data", data]).exit_code == 0
        assert UserStore(db).get("dora").admin is False  # type: ignore[union-attr]
        listed = runner.invoke(app, ["list-users", "--data", data])
        assert listed.exit_code == 0 and "dora · personnel" in listed.output
        assert runner.invoke(app, ["remove-user", "dora", "--data", data]).exit_code == 0
        missing = runner.invoke(app, ["remove-user", "dora", "--data", data])
        assert missing.exit_code == 2 and "aucun compte" in missing.output
    finally:
        db.dispose()
