"""The login throttle: password guessing slowed down for every copy of the app at once, never an account locked."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from database import Database, DatabaseError
from database.throttle import AttemptCounter, Held, Rule
from web.errors import LockedOut

log = logging.getLogger(__name__)


class LoginThrottle:
    """Slow password guessing down, for every copy of the app at once (the counts are in the database).

    Every try is counted before its password is checked (``attempt``), atomically: thirty parallel
    tries of one name get three checks, not thirty. Past the free tries, each next one waits, twice
    as long each time: per name from one address (3 free, up to 15 minutes), per address whatever
    the name (20 free), and per name from anywhere (30 free, at most a minute: an attacker spread
    over many addresses is slowed, but cannot keep the real person out). Nothing locks an account;
    an admin can clear a name's delays at once (``unlock``).
    """

    def __init__(
        self,
        db: Database,
        free_per_name: int = 3,
        free_per_address: int = 20,
        free_per_name_anywhere: int = 30,
        max_delay: float = 900.0,
        max_delay_anywhere: float = 60.0,
        window: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.counter = AttemptCounter(db, window, clock)
        self.free = (free_per_name, free_per_address, free_per_name_anywhere)
        self.max_delay = max_delay
        self.max_delay_anywhere = max_delay_anywhere

    @staticmethod
    def keys(name: str, address: str) -> tuple[str, str, str]:
        name = name.casefold()
        return f"pair:{name}|{address}", f"address:{address}", f"user:{name}"

    def attempt(self, name: str, address: str) -> None:
        """Count a login try; raise LockedOut (with the wait) when it must wait, without counting it."""
        pair, addr, user = self.keys(name, address)
        rules = [
            Rule(pair, self.free[0], self.max_delay),
            Rule(addr, self.free[1], self.max_delay),
            Rule(user, self.free[2], min(self.max_delay, self.max_delay_anywhere)),
        ]
        wait = self.counter.reserve(rules)
        if wait > 0:
            log.warning("login try for %r from %s delayed %.0f s", name, address, wait)
            raise LockedOut(
                f"Trop d'essais infructueux : réessayez dans {_duration(wait)}, "
                "ou demandez à un administrateur de débloquer votre compte."
            )

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: this name's tries are forgotten, and the address gets its try back."""
        pair, addr, user = self.keys(name, address)
        try:
            self.counter.forget([pair, user])
            self.counter.release(addr)
        except DatabaseError:
            log.exception("login tries of %s not reset: the database does not answer", name)

    def unlock(self, name: str) -> int:
        """Clear every delay of this name (from every address); how many counts were cleared."""
        name = name.casefold()
        return self.counter.forget_prefix(f"pair:{name}|") + self.counter.forget([f"user:{name}"])

    def held(self) -> list[Held]:
        return self.counter.held()


def _duration(seconds: float) -> str:
    if seconds < 90:
        n = max(1, round(seconds))
        return f"{n} seconde{'s' if n > 1 else ''}"
    n = round(seconds / 60)
    return f"{n} minute{'s' if n > 1 else ''}"
