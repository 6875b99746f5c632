"""Active and standby processes on one PostgreSQL: the lease is a session advisory lock.

Several ``opsbot run`` with the same config and a PostgreSQL URL form a group: the process that
holds the lock is the bot (migrations, plugins, networks, outbox, reminders, site); the others
wait at start-up, asking for the lock every second, and take over when it is free. The lock is
PostgreSQL's own, on a connection kept for it alone, so nothing home-made decides who leads:
the server frees it the moment the holder's connection ends (its process killed, ``kill -9``
included: the kernel closes the socket), or once the server's TCP keepalives (set short on that
connection) find the holder gone (host lost, network cut).

Fencing: the holder asks its lease connection every second (counting the standbys); when the
answer does not come within a second while another process stands by, it stops acting at once (the process exits, status 75; systemd's
``Restart=on-failure`` brings it back as a standby) — within 2 s of losing the database, well
before the server frees the lock (keepalives: 5 s idle, then 3 probes 1 s apart), so two bots
never answer at once. A holder with no standby carries on instead (its meetings go on with the
spool, as a single bot does when its database is away) and takes the lock again when the
database is back, fencing only if another process got it first. Why an advisory lock rather than a lease row with a fencing token: the
lock is released by the server itself when the holder is gone, with no clock or expiry to
trust, and nothing else writes to the database in the group but the holder, so there is no
write to fence with a token; the process's own check is the fence for what it says outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("opsbot.lease")

LOCK_KEY = 0x6F707362  # "opsb": the one lock of the group
CHECK_SECONDS = 1.0
KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "1",
    "tcp_keepalives_count": "3",
}
EXIT_FENCED = 75
SCOPE = "lease"
"""Where the bot of the group notes who it is, since when, and its networks (opsbot_state)."""


def wanted(url: str) -> bool:
    """A group needs a server: PostgreSQL. SQLite is one process's file."""
    return url.startswith("postgresql")


def me() -> str:
    return f"opsbot {socket.gethostname()} pid {os.getpid()}"


class Lease:
    def __init__(
        self,
        url: str,
        *,
        check_seconds: float = CHECK_SECONDS,
        fence: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.check_seconds = check_seconds
        self.fence = fence or _exit_fenced
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None

    async def acquire(self, stop: asyncio.Event, *, give_up_after: float | None = None) -> bool:
        """Wait until this process holds the lease (True), or ``stop`` is set, or the database
        was never reached within ``give_up_after`` seconds (False: start-up then fails with the
        storage's own clear message, as without a group)."""
        told = ""
        reached = False
        started = asyncio.get_running_loop().time()
        while not stop.is_set():
            try:
                if await self._try():
                    log.info("%s holds the lease: this process is the bot", me())
                    self._watch = asyncio.create_task(self._watching(), name="lease watch")
                    return True
                reached = True
                holder = await self._holder()
                if holder != told:
                    log.info("standing by: %s holds the lease", holder or "another process")
                    told = holder
            except Exception as error:  # the database away: wait for it like for the lock
                await self._drop()
                waited = asyncio.get_running_loop().time() - started
                if not reached and give_up_after is not None and waited >= give_up_after:
                    return False
                if told != "unreachable":
                    log.warning("standing by: the database is unreachable (%s)", error)
                    told = "unreachable"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.check_seconds)
        await self._drop()
        return False

    async def _try(self) -> bool:
        if self._conn is None:
            self._engine = create_async_engine(
                self.url,
                poolclass=NullPool,
                connect_args={
                    "server_settings": {"application_name": me()[:63], **KEEPALIVE},
                    "timeout": 5,
                },
            )
            self._conn = await self._engine.connect()
        found = await self._conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
        )
        await self._conn.commit()
        return bool(found.scalar())

    async def _holder(self) -> str:
        assert self._conn is not None
        found = await self._conn.execute(
            text(
                "SELECT a.application_name, a.client_addr FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = :key"
            ),
            {"key": LOCK_KEY},
        )
        await self._conn.commit()
        row = found.first()
        return f"{row[0] or 'a process'}" if row is not None else ""

    async def _watching(self) -> None:
        """Ask the lease connection every second. Lost while another process stands by: fence
        (it may take over). Lost while alone: carry on (the meetings go on with the spool, as a
        single bot does when its database is away) and take the lock again once the database
        is back; fence only if another process has it by then."""
        others = 0
        while True:
            await asyncio.sleep(self.check_seconds)
            # The check and the count of standbys in one round trip. Not wait_for: it would
            # wait for the cancelled query to give up, and the driver's cancel request crosses
            # the same dead link (seconds, measured, before the fence).
            check = asyncio.ensure_future(self._others())
            await asyncio.wait({check}, timeout=self.check_seconds)
            if check.done() and check.exception() is None:
                others = check.result()
                continue
            if check.done():
                error = check.exception()
                why = str(error) or type(error).__name__
            else:
                check.cancel()
                why = f"no answer within {self.check_seconds:g} s"
            if others:
                log.critical(
                    "lost the lease connection (%s) while %d other process(es) stand by: "
                    "stopping at once, so that the one taking over is the only one answering",
                    why, others,
                )  # fmt: skip
                self.fence()
                return
            log.warning("lost the lease connection (%s); no other process stands by: carrying "
                        "on, and taking the lease again when the database is back", why)  # fmt: skip
            if not await self._again():
                log.critical("another process took the lease while the database was away: "
                             "stopping at once")  # fmt: skip
                self.fence()
                return
            log.info("%s holds the lease again", me())

    async def _others(self) -> int:
        """How many other opsbot processes hold a lease connection (stand by) now."""
        assert self._conn is not None
        found = await self._conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'opsbot %' "
                "AND pid <> pg_backend_pid()"
            )
        )
        await self._conn.commit()
        return int(found.scalar() or 0)

    async def _again(self) -> bool:
        """Reconnect until the database answers; whether the lock is ours again."""
        await self._drop()
        while True:
            try:
                return await self._try()
            except Exception:
                await self._drop()
                await asyncio.sleep(self.check_seconds)

    async def release(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        await self._drop()

    async def _drop(self) -> None:
        conn, engine, self._conn, self._engine = self._conn, self._engine, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # going anyway; the server frees the lock
                await asyncio.wait_for(conn.close(), 2)
        if engine is not None:
            await engine.dispose()


def _exit_fenced() -> None:
    logging.shutdown()
    os._exit(EXIT_FENCED)
