"""Whether the database can be written to now, as the bot's writers find out.

Writers report each failure and each success; the health turns them into two moments, the
database going away and coming back, each logged once (not a traceback per retry) and told to
whoever listens (the bot turns them into domain events, so meetings can tell their rooms).
Errors that are not about reaching the database (a bug, a constraint) are logged in full, once
per run of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger("opsbot.storage")


DISCONNECTS = frozenset(
    {
        # asyncpg's, by name (no import of a driver that may not be installed)
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CannotConnectNowError",
        "AdminShutdownError",
        "CrashShutdownError",
        "PostgresConnectionError",
    }
)


def is_unreachable(error: BaseException) -> bool:
    """The database cannot be reached (down, restarting, network gone): worth waiting for.
    Looks through the chain of causes: SQLAlchemy wraps what the driver and the socket said."""
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        if isinstance(found, OSError | TimeoutError | ConnectionError):
            return True
        if type(found).__name__ in DISCONNECTS:
            return True
        if isinstance(found, DBAPIError):
            if found.connection_invalidated or isinstance(found, OperationalError | InterfaceError):
                return True
            if isinstance(found.orig, BaseException) and id(found.orig) not in seen:
                found = found.orig
                continue
        found = found.__cause__ or found.__context__
    return False


def short(error: BaseException) -> str:
    """One line about an error, without SQLAlchemy's statement and parameters."""
    found = getattr(error, "orig", None) or error
    text = str(found).strip().splitlines()
    return f"{type(found).__name__}: {text[0]}" if text else type(found).__name__


class DatabaseHealth:
    def __init__(self) -> None:
        self.down_since: float | None = None
        self.listener: Callable[[bool], None] | None = None
        """Called with False when the database goes away, True when it is back."""
        self._failing = False

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: BaseException, what: str) -> None:
        if is_unreachable(error):
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.error(
                    "the database is unreachable (%s); %s waits, kept locally, until it is back",
                    short(error), what,
                )  # fmt: skip
                if self.listener is not None:
                    self.listener(False)
            return
        if not self._failing:
            self._failing = True
            log.error("%s could not be written; retrying", what, exc_info=error)

    def succeeded(self) -> None:
        self._failing = False
        if self.down_since is not None:
            outage = time.monotonic() - self.down_since
            self.down_since = None
            log.warning("the database is back after %.0f s; what waited is being stored", outage)
            if self.listener is not None:
                self.listener(True)
