"""The durable outbox: whatever the bot must deliver outside itself (a pad line, a reminder, a
mail) is stored before it is attempted and delivered in order per target, again and again with
the one backoff of :mod:`opsbot.retry` until it lands, across outages and restarts.

A *channel* is one way out (``etherpad``, ``say``), registered by whoever delivers it with a
``deliver`` function; an *entry* is one thing to deliver, with the *target* it is ordered by
(a pad, a room), a JSON payload, an optional idempotency *key* (an entry added twice under one
key is stored once: a reminder is queued once whatever restarts in between), an optional *ref*
the producer finds it by later (the meeting line it records) and an optional expiry (a reminder
not delivered before its meeting starts is dropped, not sent late).

Entries reach the table through a group commit with a local spool, so adding never waits for
the database and one added while the database is away is kept on disk. Delivery is at least
once: an entry is marked attempted before ``deliver`` runs, and a deliverer that can tell what
already landed (the pad's text holds each line's marker) makes a retry write nothing twice.
``deliver`` gets the oldest waiting entries of one target (up to the channel's batch) and says
how many of them, from the first, it delivered; raising :class:`Held` means a person must act
(a refused API key) and is told once through the channel's ``held`` callback, any other
exception is a passing failure, retried. An entry that expires undelivered is handed to the
channel's ``expired`` callback (someone is told it never went). :meth:`Outbox.wake` cuts a
backoff short: the network came back, try now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from .events import utcnow
from .groupcommit import GroupCommit
from .retry import Backoff
from .state import OpsbotBase
from .storage import Storage, UTCDateTime

log = logging.getLogger("opsbot.outbox")


STATUS_WAIT = 2.0
"""Seconds a status question waits for what was added before it to be stored."""


class OutboxRow(OpsbotBase):
    __tablename__ = "opsbot_outbox"
    __table_args__ = (
        Index("ix_opsbot_outbox_waiting", "channel", "state", "target", "id"),
        Index("ix_opsbot_outbox_ref", "channel", "ref"),
        Index("ux_opsbot_outbox_key", "channel", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(512))
    key: Mapped[str | None] = mapped_column(String(255))
    ref: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, done, expired."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing to deliver, as its deliverer sees it."""

    id: int
    target: str
    payload: dict[str, Any]
    attempts: int
    """Attempts before this one: above 0, an earlier attempt may have landed."""
    ref: str | None = None


class Held(Exception):
    """Delivery cannot go on until a person acts (the message says what); kept and retried."""


Deliver = Callable[[list[Entry]], Awaitable[int]]
Told = Callable[[Entry, Exception], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Channel:
    deliver: Deliver
    batch: int = 1
    held: Told | None = None
    first_delay: float | None = None
    most_delay: float | None = None
    expired: Told | None = None


@dataclass(frozen=True, slots=True)
class Status:
    waiting: int
    last_error: str | None


@dataclass(frozen=True)
class Waiting:
    """What waits in one channel: how many entries, since when, the last failure."""

    channel: str
    count: int
    oldest: datetime | None
    last_error: str | None


async def waiting_by_channel(storage: Storage) -> list[Waiting]:
    """Every channel's waiting entries (``opsbot status``, ``/metrics``)."""
    async with storage.session() as session:
        rows = await session.execute(
            select(
                OutboxRow.channel,
                func.count(),
                func.min(OutboxRow.created_at),
                func.max(OutboxRow.last_error),
            )
            .where(OutboxRow.state == "pending")
            .group_by(OutboxRow.channel)
            .order_by(OutboxRow.channel)
        )
        return [Waiting(channel, count, oldest, error) for channel, count, oldest, error in rows]


class Outbox:
    def __init__(self, storage: Storage, *, first_delay: float = 1.0, most_delay: float = 300.0):
        self.storage = storage
        self.first_delay = first_delay
        self.most_delay = most_delay
        self.delivered = 0
        self._channels: dict[str, Channel] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake: dict[tuple[str, str], asyncio.Event] = {}
        self._errors: dict[tuple[str, str], str] = {}
        self._backing_off: set[tuple[str, str]] = set()
        """Targets waiting out a failure: a new entry does not cut their wait short."""
        self._touched: set[tuple[str, str]] = set()
        """Targets a batch being stored added to (kicked once it is committed)."""
        self._started = False
        self.writer: GroupCommit[dict[str, Any]] = GroupCommit(
            self._store, name="outbox writer", storage=storage, committed=self._stored
        )

    # lifecycle

    async def start(self) -> None:
        """Store what waited in the spool (before anything reads the table); delivery of each
        channel begins when it is registered."""
        await self.writer.start()
        self._started = True

    async def stop(self) -> None:
        await self.writer.stop()
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()

    async def register(
        self,
        channel: str,
        deliver: Deliver,
        *,
        batch: int = 1,
        held: Told | None = None,
        first_delay: float | None = None,
        most_delay: float | None = None,
        expired: Told | None = None,
    ) -> None:
        """Deliver ``channel``'s entries with ``deliver``, beginning with whatever an earlier
        run left waiting; the backoff's first and longest waits may be the channel's own."""
        self._channels[channel] = Channel(deliver, batch, held, first_delay, most_delay, expired)
        await self.rescan(channel)

    async def rescan(self, channel: str) -> None:
        """Deliver what waits for targets nobody delivers to now: entries another process
        added (``opsbot mail resend``). A target already being delivered keeps its backoff."""
        async with self.storage.session() as session:
            rows = await session.execute(
                select(OutboxRow.target)
                .where(OutboxRow.channel == channel, OutboxRow.state == "pending")
                .distinct()
            )
            for (target,) in rows.all():
                task = self._workers.get((channel, target))
                if task is None or task.done():
                    self._kick(channel, target)

    # adding

    def add(
        self,
        channel: str,
        target: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        ref: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Queue one entry: on local disk at once, stored before it is attempted, then
        delivered. An entry whose ``key`` the channel already has is not added again."""
        self.writer.add(
            {"op": "add", "channel": channel, "target": target, "payload": payload, "key": key,
             "ref": ref, "expires_at": expires_at}
        )  # fmt: skip

    def revise(
        self, channel: str, ref: str, changes: dict[str, Any], *, scrub: bool, follow_up: bool
    ) -> None:
        """What the entries of ``ref`` carry has changed. ``scrub``: every stored entry of it
        (delivered or not) takes ``changes``, so no copy of the old content is kept.
        ``follow_up``: for each first entry of it (not itself a follow-up), a new entry to the
        same target with ``changes`` and ``"replaces": <that entry's id>``, for the deliverer to
        correct what it delivered."""
        self.writer.add(
            {"op": "revise", "channel": channel, "ref": ref, "changes": changes, "scrub": scrub,
             "follow_up": follow_up}
        )  # fmt: skip

    async def _store(self, items: list[dict[str, Any]], conn: AsyncConnection) -> None:
        await self.write(items, conn)

    async def write(self, items: list[dict[str, Any]], conn: AsyncConnection) -> None:
        """Store queued operations (as :meth:`add` and :meth:`revise` queue them) inside a
        transaction the caller holds: the group commit's, or an upgrade's adopting what an
        older writer left in its spool."""
        now = utcnow()
        for item in items:
            if item["op"] == "add":
                await self._insert(conn, item, now)
            else:
                await self._revise(conn, item, now)

    async def _insert(self, conn: AsyncConnection, item: dict[str, Any], now: datetime) -> None:
        if item["key"] is not None:
            known = await conn.scalar(
                select(OutboxRow.id).where(
                    OutboxRow.channel == item["channel"], OutboxRow.key == item["key"]
                )
            )
            if known is not None:
                return
        await conn.execute(
            insert(OutboxRow).values(
                channel=item["channel"], target=item["target"], key=item["key"],
                ref=item["ref"], payload=item["payload"], state="pending", attempts=0,
                created_at=now, expires_at=item["expires_at"],
            )
        )  # fmt: skip
        self._touched.add((item["channel"], item["target"]))

    async def _revise(self, conn: AsyncConnection, item: dict[str, Any], now: datetime) -> None:
        channel, changes = item["channel"], item["changes"]
        rows = (
            await conn.execute(
                select(OutboxRow.id, OutboxRow.target, OutboxRow.payload).where(
                    OutboxRow.channel == channel, OutboxRow.ref == item["ref"]
                )
            )
        ).all()
        if item["scrub"]:
            for row in rows:
                await conn.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id == row.id)
                    .values(payload={**row.payload, **changes})
                )
        if item["follow_up"]:
            for row in rows:
                if row.payload.get("replaces") is not None:
                    continue
                await conn.execute(
                    insert(OutboxRow).values(
                        channel=channel, target=row.target, ref=item["ref"],
                        payload={**row.payload, **changes, "replaces": row.id},
                        state="pending", attempts=0, created_at=now,
                    )
                )  # fmt: skip
                self._touched.add((channel, row.target))

    def _stored(self, items: list[dict[str, Any]]) -> None:
        touched, self._touched = self._touched, set()
        for channel, target in touched:
            if channel in self._channels:
                self._kick(channel, target)

    # what waits

    async def status(self, channel: str, target: str) -> Status:
        """What waits for ``target``: every entry added before the question, so what is still
        on its way to the database is stored first (for a moment at most)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.writer.flush(), STATUS_WAIT)
        async with self.storage.session() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.channel == channel, OutboxRow.target == target)
                .where(OutboxRow.state == "pending")
            )
        return Status(int(waiting or 0), self._errors.get((channel, target)))

    async def idle(self) -> None:
        """Wait until nothing registered waits (tests and benchmarks)."""
        await self.writer.flush()
        while busy := [task for task in self._workers.values() if not task.done()]:
            await asyncio.wait(busy)

    # delivering

    def wake(self, channel: str, targets: Callable[[str], bool] | None = None) -> None:
        """Try the channel's waiting targets now (those ``targets`` accepts), whatever their
        backoff says: what they wait for may be back."""
        for (name, target), task in list(self._workers.items()):
            if name == channel and not task.done() and (targets is None or targets(target)):
                self._wake[(name, target)].set()

    def _kick(self, channel: str, target: str) -> None:
        """A new entry for ``target``: start its worker, or have it look again; not when it is
        waiting out a failure (the target is away: each new entry would only try it again)."""
        key = (channel, target)
        task = self._workers.get(key)
        if key in self._backing_off and task is not None and not task.done():
            return
        self._wake.setdefault(key, asyncio.Event()).set()
        if task is None or task.done():
            self._workers[key] = asyncio.create_task(
                self._work(channel, target), name=f"outbox {channel} {target}"
            )

    async def _next(self, channel: str, target: str, batch: int) -> list[Entry]:
        """The oldest waiting entries of a target, in order; expired ones are set aside (and
        the channel told of each)."""
        while True:
            found, stale = await self._fetch(channel, target, batch)
            spec = self._channels[channel]
            for entry in stale:
                if spec.expired is not None:
                    error = TimeoutError(self._errors.get((channel, target)) or "not delivered")
                    try:
                        await spec.expired(entry, error)
                    except Exception:
                        log.exception("could not tell anyone that %s expired", entry.target)
            if found or not stale:
                return found

    async def _fetch(
        self, channel: str, target: str, batch: int
    ) -> tuple[list[Entry], list[Entry]]:
        """The next entries, counted as attempted in the same transaction (so a crash during
        their delivery leaves them marked as perhaps delivered), and the expired ones."""
        now = utcnow()
        async with self.storage.session() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.channel == channel, OutboxRow.target == target)
                    .where(OutboxRow.state == "pending")
                    .order_by(OutboxRow.id)
                    .limit(batch)
                    # PostgreSQL: rows another transaction is taking are skipped, not waited
                    # for (the lease makes one process the worker; this keeps two from ever
                    # taking the same entries, should two ever run). SQLite has one writer.
                    .with_for_update(skip_locked=True)
                )
            )
            stale = [r.id for r in rows if r.expires_at is not None and r.expires_at < now]
            if stale:
                await session.execute(
                    update(OutboxRow).where(OutboxRow.id.in_(stale)).values(state="expired")
                )
                log.warning("outbox %s %s: %d entries expired undelivered", channel, target,
                            len(stale))  # fmt: skip
            trying = [row.id for row in rows if row.id not in stale]
            if trying:
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_(trying))
                    .values(attempts=OutboxRow.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
        entries = [Entry(row.id, row.target, row.payload, row.attempts, row.ref) for row in rows]
        return (
            [entry for entry in entries if entry.id not in stale],
            [entry for entry in entries if entry.id in stale],
        )

    async def _work(self, channel: str, target: str) -> None:
        key = (channel, target)
        wake = self._wake[key]
        spec = self._channels[channel]
        backoff = Backoff(spec.first_delay or self.first_delay, spec.most_delay or self.most_delay)
        reported = False
        while True:
            wake.clear()
            try:
                entries = await self._next(channel, target, spec.batch)
            except Exception as error:
                self.storage.health.failed(error, f"outbox {channel}")
                await asyncio.sleep(backoff.next())
                continue
            if not entries:
                if wake.is_set():
                    continue  # added while we looked; nothing between here and return awaits
                self._errors.pop(key, None)
                return
            try:
                delivered = await spec.deliver(entries)
                await self._done(entries[:delivered])
            except Held as error:
                self._errors[key] = str(error)
                if not reported:
                    reported = True
                    log.error("outbox %s %s: %s", channel, target, error)
                    await self._tell(spec, entries[0], error)
            except Exception as error:
                self._errors[key] = str(error) or type(error).__name__
                await self._note(entries, self._errors[key])
                wait = backoff.next()
                log.warning("outbox %s %s: %s; again in %.1f s", channel, target,
                            self._errors[key], wait)  # fmt: skip
                await self._wait_out(key, wake, wait)
                continue
            else:
                if reported:
                    log.info("outbox %s %s: delivering again", channel, target)
                reported = False
                backoff.reset()
                self._errors.pop(key, None)
                continue
            await self._wait_out(key, wake, backoff.next())

    async def _note(self, entries: list[Entry], error: str) -> None:
        """Keep the failure with the entries, for ``opsbot status`` (best effort: the
        database may be what failed)."""
        try:
            async with self.storage.session() as session, session.begin():
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_([entry.id for entry in entries]))
                    .values(last_error=error[:2000])
                    .execution_options(synchronize_session=False)
                )
        except Exception:
            log.debug("could not keep the outbox error", exc_info=True)

    async def _wait_out(self, key: tuple[str, str], wake: asyncio.Event, seconds: float) -> None:
        """The backoff's wait after a failure, cut short only by :meth:`wake` (a new entry
        does not: the target is away)."""
        self._backing_off.add(key)
        wake.clear()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), seconds)
        finally:
            self._backing_off.discard(key)

    async def _tell(self, spec: Channel, entry: Entry, error: Exception) -> None:
        if spec.held is None:
            return
        try:
            await spec.held(entry, error)
        except Exception:
            log.exception("could not tell anyone that %s is held", entry.target)

    async def _done(self, entries: list[Entry]) -> None:
        if not entries:
            return
        ids = [entry.id for entry in entries]
        async with self.storage.session() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids))
                .values(state="done", done_at=utcnow(), last_error=None)
            )
        self.delivered += len(ids)
