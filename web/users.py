"""Users, passwords, login throttling and sessions.

Passwords are hashed with Argon2id (argon2-cffi: a random salt per hash, slow by
design); the users file is written 0600 and re-read when it changes, so adding,
revoking or demoting someone needs no restart, and their open sessions end at
once. Roles are strict booleans: ``"admin": "false"`` is an error, not an admin.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from web.errors import BadCredentials, LegacyPassword, LockedOut, UsersFileError

log = logging.getLogger(__name__)

HASHER = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (64 MiB, 3 passes)
# Checked when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))
MIN_PASSWORD_CHARS = 8


def reset_command(name: str, users_file: Path | str = "users.json") -> str:
    return f"python -m assistant add-user {name} --file {users_file}"


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
            f"Fichier d'utilisateurs introuvable : {path}. Créez-le avec « {reset_command('NOM', path)} »."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"Fichier d'utilisateurs illisible ({path}) : {exc}.") from exc
    except json.JSONDecodeError as exc:
        raise UsersFileError(f"Fichier d'utilisateurs illisible ({path}) : {exc.msg} ligne {exc.lineno}.") from exc
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("users file %s is readable by others: chmod 600 %s", path, path)
    return parse_users(raw, path)


def write_user(path: Path, name: str, password: str, admin: bool) -> None:
    """Add or update one user; the file is replaced atomically and readable by its owner only (0600)."""
    name = name.strip()
    if not name or any(c.isspace() for c in name) or len(name) > 64:
        raise UsersFileError("Nom d'utilisateur refusé : sans espaces, 64 caractères au plus.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsersFileError(f"Mot de passe trop court ({MIN_PASSWORD_CHARS} caractères au moins).")
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UsersFileError(f"Fichier d'utilisateurs illisible ({path}) : {exc.msg} ligne {exc.lineno}.") from exc
        if not isinstance(raw, dict):
            raise UsersFileError(f"Fichier d'utilisateurs {path} : un objet JSON est attendu.")
    raw[name] = {"password": HASHER.hash(password), "admin": bool(admin)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(raw, fh, indent=1, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class UserStore:
    """The users of the web chat, re-read from their file when it changes (checked at most once a second)."""

    def __init__(self, path: Path | None, check_every: float = 1.0) -> None:
        self.path = path
        self.check_every = check_every
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._file = UsersFile({}, {}, {})
        if path is not None:
            self._file = read_users_file(path)  # at start a broken file is an error: say it and stop
            self._stamp = self._stat()
            self._checked = time.monotonic()

    @property
    def login_required(self) -> bool:
        """A users file is configured (even if it is empty or broken now: then nobody gets in)."""
        return self.path is not None

    def _stat(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> UsersFile:
        if self.path is None:
            return self._file
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_every:
                self._checked = now
                stamp = self._stat()
                if stamp != self._stamp:
                    self._stamp = stamp
                    try:
                        self._file = read_users_file(self.path)
                        log.info("users file re-read: %d users", len(self._file.users))
                    except UsersFileError:
                        # fail closed: a broken file lets nobody in (and revokes everyone) until fixed
                        log.exception("users file unreadable; nobody can log in until it is fixed")
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


class LoginThrottle:
    """Refuse logins for a while after repeated failures, per user name and per address."""

    def __init__(
        self,
        per_user: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        lockout: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[str, str]]:
        return [("user", name.casefold()), ("address", address)]

    def check(self, name: str, address: str) -> None:
        """Raise LockedOut while this name or this address is locked out."""
        now = self.clock()
        with self._lock:
            wait = max((self._locked_until.get(k, 0.0) - now for k in self._keys(name, address)), default=0.0)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            raise LockedOut(
                f"Trop d'essais infructueux : réessayez dans {minutes} minute{'s' if minutes > 1 else ''}, "
                "ou demandez à un administrateur de redéfinir votre mot de passe."
            )

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] < now - self.window:
                    times.popleft()
                if len(times) >= self.limits[key[0]]:
                    self._locked_until[key] = now + self.lockout
                    times.clear()
                    log.warning("login locked for %s %s after repeated failures", key[0], key[1])

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("user", name.casefold()), None)


@dataclass(frozen=True)
class Session:
    user: str
    password_hash: str  # a new password (or a removed user) ends the session
    created: float


class Sessions:
    """Login sessions: random tokens in an HttpOnly cookie, valid while the user exists with the same password."""

    def __init__(self, users: UserStore, max_age: float = 12 * 3600, clock: Callable[[], float] = time.time) -> None:
        self.users = users
        self.max_age = max_age
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = Session(user.name, user.password_hash, self.clock())
        return token

    def user(self, token: str | None) -> User | None:
        """The user of this session token, or None (unknown, expired, revoked, password changed)."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
        if session is None:
            return None
        user = self.users.get(session.user)
        if user is None or user.password_hash != session.password_hash or self.clock() - session.created > self.max_age:
            self.close(token)
            return None
        return user

    def close(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)
