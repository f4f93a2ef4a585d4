"""Users, passwords, login throttling and sessions.

Passwords are hashed with Argon2id (argon2-cffi: a random salt per hash, slow by
design). Accounts and sessions live in the database, shared by every copy of the
app and read again at most once a second, so adding, revoking or demoting someone
needs no restart, and their open sessions end at once (on every copy). Roles are
strict booleans (a boolean column; an imported ``"admin": "false"`` is refused, not an
admin). The users file of earlier versions is imported once (``import_users_file``).
Login tries are counted in the database too (``web.throttle``): one count for every copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from database import Database, DatabaseError
from database.accounts import Account, Accounts
from web.errors import BadCredentials, LegacyPassword, UsersFileError

log = logging.getLogger(__name__)

HASHER = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (64 MiB, 3 passes)
# Checked when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))
MIN_PASSWORD_CHARS = 8


def reset_command(name: str, users_file: Path | str | None = None) -> str:
    return f"python -m assistant add-user {name}"


class _Entry(BaseModel):
    """One user in the users file, validated strictly."""

    model_config = ConfigDict(extra="forbid", strict=True)
    password: str
    admin: StrictBool = False


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    admin: bool


@dataclass(frozen=True)
class UsersFile:
    """What a users file holds: valid users, and why other entries were refused."""

    users: dict[str, User]
    problems: dict[str, str]  # name -> French sentence saying what to do
    legacy: dict[str, str]  # name -> old salted SHA-256 digest (refused, kept to tell its owner how to reset)


def parse_users(raw: Any, users_file: Path | str = "users.json") -> UsersFile:
    """Validate the users file's content: ``{"name": {"password": "$argon2id$…", "admin": false}}``."""
    if not isinstance(raw, dict):
        raise UsersFileError(f"Fichier d'utilisateurs {users_file} : un objet JSON {{nom: {{…}}}} est attendu.")
    users: dict[str, User] = {}
    problems: dict[str, str] = {}
    legacy: dict[str, str] = {}
    for name, entry in raw.items():
        if isinstance(entry, dict) and "password_sha256" in entry and "password" not in entry:
            legacy[name] = str(entry.get("password_sha256", ""))
            problems[name] = (
                f"« {name} » a un mot de passe à l'ancien format (SHA-256), refusé : redéfinissez-le avec "
                f"« {reset_command(name, users_file)} »."
            )
            continue
        try:
            parsed = _Entry.model_validate(entry)
        except ValidationError as exc:
            why = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'entrée'} : {e['msg']}" for e in exc.errors())
            problems[name] = (
                f"« {name} » est refusé ({why}) ; « admin » doit valoir true ou false sans guillemets. "
                f"Corrigez le fichier ou recréez l'utilisateur avec « {reset_command(name, users_file)} »."
            )
            continue
        if not parsed.password.startswith("$argon2id$"):
            problems[name] = (
                f"« {name} » : empreinte de mot de passe inconnue ; redéfinissez-la avec « {reset_command(name, users_file)} »."
            )
            continue
        users[name] = User(name, parsed.password, parsed.admin)
    return UsersFile(users, problems, legacy)


def read_users_file(path: Path) -> UsersFile:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsersFileError(
            f"Fichier d'utilisateurs introuvable : {path}. Les comptes sont maintenant dans la base de données : "
            f"retirez ASSISTANT_USERS_FILE et créez-les avec « {reset_command('NOM')} »."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"Fichier d'utilisateurs illisible ({path}) : {exc}.") from exc
    except json.JSONDecodeError as exc:
        raise UsersFileError(f"Fichier d'utilisateurs illisible ({path}) : {exc.msg} ligne {exc.lineno}.") from exc
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("users file %s is readable by others: chmod 600 %s", path, path)
    return parse_users(raw, path)


def check_new_user(name: str, password: str) -> str:
    name = name.strip()
    if not name or any(c.isspace() for c in name) or len(name) > 64:
        raise UsersFileError("Nom d'utilisateur refusé : sans espaces, 64 caractères au plus.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsersFileError(f"Mot de passe trop court ({MIN_PASSWORD_CHARS} caractères au moins).")
    return name


def write_user(db: Database, name: str, password: str, admin: bool) -> None:
    """Add a user or reset their password (only its Argon2id hash is kept); their open sessions end."""
    name = check_new_user(name, password)
    Accounts(db).save(name, HASHER.hash(password), bool(admin))


def set_admin(db: Database, name: str, admin: bool) -> bool:
    """Make someone an admin or staff (and accept an account refused for its role); False when unknown."""

    def role_was_the_problem(account: Account) -> bool:
        return bool(account.password_hash and account.password_hash.startswith("$argon2id$") and not account.legacy_sha256)

    return Accounts(db).set_admin(name, admin, role_was_the_problem)


def remove_user(db: Database, name: str) -> bool:
    """Remove an account (its sessions end); False when unknown."""
    return Accounts(db).remove(name)


def list_users(db: Database) -> list[dict[str, Any]]:
    """Every account: name, admin, whether it can log in, and why not."""
    return [
        {"name": a.name, "admin": a.admin, "active": bool(a.password_hash) and not a.problem, "problem": a.problem}
        for a in Accounts(db).all(by_name=True)
    ]


def import_users_file(db: Database, path: Path) -> bool:
    """Import the users file of the version before the database, once; True when this call imported it.

    Valid accounts keep their Argon2id hash and role; refused ones (old SHA-256 format, a role
    that is not true or false) are kept refused, with the sentence that says what to do. The
    file is left untouched: it is no longer read.
    """
    source = str(path.resolve())
    accounts = Accounts(db)
    if accounts.accounts_import() is not None:
        return False
    parsed = read_users_file(path)  # a missing or broken file is an error at start, as before

    def read() -> list[Account]:  # read again inside the import's transaction, as the database keeps it
        raw = json.loads(path.read_text(encoding="utf-8"))
        found: list[Account] = []
        for name, entry in raw.items():
            name = str(name)[:64]  # an account already in the database wins: the store skips it
            user = parsed.users.get(name)
            password = entry.get("password") if isinstance(entry, dict) else None
            admin = entry.get("admin") if isinstance(entry, dict) else None
            found.append(
                Account(
                    name=name,
                    password_hash=user.password_hash if user else (password if isinstance(password, str) else None),
                    admin=user.admin if user else admin is True,
                    legacy_sha256=parsed.legacy.get(name),
                    problem=None if user else parsed.problems.get(name, "compte refusé"),
                )
            )
        return found

    done = accounts.import_accounts(source, read, sorted(parsed.problems))
    if done:
        log.warning("users file %s imported into the database; it is no longer read", path)
    return done


class UserStore:
    """The users of the web chat, read from the database again at most once a second (revoking needs no restart)."""

    def __init__(self, db: Database, required: bool = False, check_every: float = 1.0) -> None:
        self.db = db
        self.accounts = Accounts(db)
        self.check_every = check_every
        self._lock = threading.Lock()
        self._file = self._read()
        self._checked = time.monotonic()
        self._failing = False
        # Login is required when accounts exist at start (or a users file is configured); it stays
        # required: removing every account then lets nobody in, it never opens the app.
        self._required = required or bool(self._file.users or self._file.problems)

    @property
    def login_required(self) -> bool:
        return self._required

    def _read(self) -> UsersFile:
        rows = self.accounts.all()
        valid: dict[str, User] = {}
        problems: dict[str, str] = {}
        legacy: dict[str, str] = {}
        for r in rows:
            if r.legacy_sha256:
                legacy[r.name] = r.legacy_sha256
            if r.problem or not r.password_hash:
                problems[r.name] = (
                    r.problem or f"« {r.name} » n'a pas de mot de passe : définissez-le avec « {reset_command(r.name)} »."
                )
                continue
            valid[r.name] = User(r.name, r.password_hash, r.admin)
        return UsersFile(valid, problems, legacy)

    def current(self) -> UsersFile:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_every:
                self._checked = now
                try:
                    self._file = self._read()
                    self._failing = False
                except DatabaseError:
                    # fail closed: nobody gets in while the database cannot say who may
                    if not self._failing:  # once per outage
                        log.exception("users not readable from the database; nobody can log in until it answers")
                    self._failing = True
                    self._file = UsersFile({}, {}, {})
            return self._file

    def get(self, name: str | None) -> User | None:
        return self.current().users.get(name or "")

    def problems(self) -> list[str]:
        return list(self.current().problems.values())

    def verify(self, name: str, password: str) -> User:
        """Return the user whose password this is; raise BadCredentials (or LegacyPassword) otherwise. Slow (Argon2): call off the event loop."""
        users = self.current()
        user = users.users.get(name)
        try:
            HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            user = None
        if user is not None:
            return user
        old = users.legacy.get(name)
        if old and hmac.compare_digest(old, hashlib.sha256(f"{name}:{password}".encode()).hexdigest()):
            raise LegacyPassword(
                "Votre mot de passe est enregistré dans un ancien format, qui n'est plus accepté. "
                f"Demandez à un administrateur de le redéfinir avec « {reset_command(name)} »."
            )
        raise BadCredentials("Nom d'utilisateur ou mot de passe incorrect.")


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Login sessions in the database (any copy of the app knows them): random tokens in an HttpOnly cookie.

    A session is valid while its user exists with the same password and for ``max_age``; only a
    hash of the token is stored. Each copy remembers what it read for ``check_every`` seconds.
    """

    def __init__(
        self, users: UserStore, max_age: float = 12 * 3600, clock: Callable[[], float] = time.time, check_every: float = 1.0
    ) -> None:
        self.users = users
        self.db = users.db
        self.accounts = Accounts(self.db)
        self.max_age = max_age
        self.clock = clock
        self.check_every = check_every
        self._seen: dict[str, tuple[float, str, str, float]] = {}  # token hash -> (read at, user, stamp, created)
        self._lock = threading.Lock()

    def open(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.accounts.open_session(_token_hash(token), user.name, _stamp(user.password_hash), now, now + self.max_age)
        return token

    def _lookup(self, key: str) -> tuple[str, str, float] | None:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.check_every:
            return seen[1], seen[2], seen[3]
        try:
            row = self.accounts.session(key)
        except DatabaseError as exc:
            log.error("sessions not readable from the database, treated as logged out: %s", exc)
            return None
        with self._lock:
            if row is None:
                self._seen.pop(key, None)
                return None
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (now, row.user_name, row.password_stamp, row.created_at)
        return row.user_name, row.password_stamp, row.created_at

    def user(self, token: str | None) -> User | None:
        """The user of this session token, or None (unknown, expired, revoked, password changed, logged out elsewhere)."""
        if not token:
            return None
        found = self._lookup(_token_hash(token))
        if found is None:
            return None
        name, stamp, created = found
        user = self.users.get(name)
        if user is None or _stamp(user.password_hash) != stamp or self.clock() - created > self.max_age:
            self.close(token)
            return None
        return user

    def close(self, token: str | None) -> None:
        if not token:
            return
        key = _token_hash(token)
        with self._lock:
            self._seen.pop(key, None)
        try:
            self.accounts.close_session(key)
        except DatabaseError:
            log.exception("session not removed from the database")
