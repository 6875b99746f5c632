"""The durable outbox: every pad operation is stored before it is attempted, and delivered in
order per pad by a worker that backs off while Etherpad is away.

A line carries an idempotency marker, its operation ID written in invisible characters at its
end. An operation that was attempted before (the bot cannot know whether that append landed: a
timeout, a crash) is first looked for in the pad's text, and only appended if it is not there:
a retry never writes a line twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.events import utcnow
from opsbot.groupcommit import GroupCommit
from opsbot.storage import Storage

from .client import EtherpadAuthError, EtherpadClient, EtherpadError, EtherpadNoPad
from .models import Operation

log = logging.getLogger("opsbot.plugins.etherpad")

Notify = Callable[[str, str, str], Awaitable[None]]
"""(network, room, text): tell the people of a room something."""

BATCH = 50
"""Operations of one pad delivered in one append while catching up."""
_BITS = {"0": "\u200b", "1": "\u200c"}
_EDGE = "\u2063"


def marker(operation_id: int) -> str:
    """The operation's ID in zero-width characters, fenced so no ID is part of another."""
    return _EDGE + "".join(_BITS[bit] for bit in bin(operation_id)[2:]) + _EDGE


@dataclass(frozen=True, slots=True)
class Status:
    waiting: int
    last_error: str | None


class Outbox:
    def __init__(
        self,
        storage: Storage,
        clients: dict[str, EtherpadClient],
        notify: Notify,
        *,
        min_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.storage = storage
        self.clients = clients
        self.notify = notify
        self.min_delay = min_delay
        self.max_delay = max_delay
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake: dict[tuple[str, str], asyncio.Event] = {}
        self._errors: dict[tuple[str, str], str] = {}
        self.delivered = 0
        # Lines reach the outbox table through a group commit with a local spool: a line
        # said while the database is away is kept on disk and stored when it is back.
        self._touched: set[tuple[str, str]] = set()
        """Pads a batch being stored rewrites lines of (kicked once it is committed)."""
        self.writer: GroupCommit[dict[str, Any]] = GroupCommit(
            self._store, name="etherpad outbox writer", storage=storage, committed=self._stored
        )

    async def start(self) -> None:
        """Store what waited in the spool, then resume delivering whatever was left waiting
        by an earlier run."""
        await self.writer.start()
        async with self.storage.session() as session:
            rows = await session.execute(
                select(Operation.server, Operation.pad)
                .where(Operation.state == "pending")
                .distinct()
            )
            for server, pad in rows.all():
                self._kick(server, pad)

    async def stop(self) -> None:
        await self.writer.stop()
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()

    async def add(
        self,
        server: str,
        pad: str,
        text: str,
        network: str,
        room: str,
        *,
        item: tuple[int, int] | None = None,
    ) -> None:
        """A line for the pad: on local disk at once, stored before it is attempted, then
        delivered. ``item`` is the (meeting, log line) the line records."""
        self.writer.add(
            {
                "op": "add", "server": server, "pad": pad, "text": text, "network": network,
                "room": room, "meeting_id": item[0] if item else None,
                "item_seq": item[1] if item else None,
            }
        )  # fmt: skip

    async def revise(self, meeting_id: int, seq: int, text: str, *, redacted: bool) -> None:
        """The item (meeting, log line) now says ``text``: each pad line that recorded it is
        rewritten in place; after a redaction no stored operation keeps the old text."""
        self.writer.add(
            {"op": "revise", "meeting_id": meeting_id, "seq": seq, "text": text,
             "redacted": redacted}
        )  # fmt: skip

    async def scrub(self, meeting_id: int, seq: int, text: str) -> None:
        """No stored operation keeps the text of a redacted item's line (the pad is left)."""
        self.writer.add({"op": "scrub", "meeting_id": meeting_id, "seq": seq, "text": text})

    async def _store(self, items: list[dict[str, Any]], conn: AsyncConnection) -> None:
        now = utcnow()
        for item in items:
            if item["op"] == "add":
                fields = {k: v for k, v in item.items() if k != "op"}
                await conn.execute(
                    insert(Operation).values(**fields, state="pending", attempts=0, created_at=now)
                )
                continue
            of_item = (Operation.meeting_id == item["meeting_id"]) & (
                Operation.item_seq == item["seq"]
            )
            originals = (
                await conn.execute(
                    select(Operation.id, Operation.server, Operation.pad, Operation.network,
                           Operation.room).where(of_item, Operation.replaces.is_(None))
                )
            ).all() if item["op"] == "revise" else []  # fmt: skip
            if item["op"] == "scrub" or item.get("redacted"):
                await conn.execute(update(Operation).where(of_item).values(text=item["text"]))
            for original in originals:
                await conn.execute(
                    insert(Operation).values(
                        server=original.server, pad=original.pad, text=item["text"],
                        network=original.network, room=original.room, state="pending",
                        attempts=0, created_at=now, meeting_id=item["meeting_id"],
                        item_seq=item["seq"], replaces=original.id,
                    )
                )  # fmt: skip
                self._touched.add((original.server, original.pad))

    def _stored(self, items: list[dict[str, Any]]) -> None:
        """A batch is committed: the pads it added to (or rewrote) can be written now."""
        pads = {(i["server"], i["pad"]) for i in items if i["op"] == "add"} | self._touched
        self._touched = set()
        for server, pad in pads:
            self._kick(server, pad)

    async def status(self, server: str, pad: str) -> Status:
        async with self.storage.session() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(Operation)
                .where(Operation.server == server, Operation.pad == pad)
                .where(Operation.state == "pending")
            )
        return Status(int(waiting or 0), self._errors.get((server, pad)))

    async def idle(self) -> None:
        """Wait until no pad has anything waiting (tests and the benchmark)."""
        await self.writer.flush()
        while busy := [task for task in self._workers.values() if not task.done()]:
            await asyncio.wait(busy)

    def _kick(self, server: str, pad: str) -> None:
        key = (server, pad)
        self._wake.setdefault(key, asyncio.Event()).set()
        task = self._workers.get(key)
        if task is None or task.done():
            self._workers[key] = asyncio.create_task(self._work(server, pad), name=f"pad {pad}")

    async def _next(self, server: str, pad: str) -> list[Operation]:
        """The oldest waiting operations of a pad, in order (delivered in one append)."""
        async with self.storage.session() as session:
            found = await session.scalars(
                select(Operation)
                .where(Operation.server == server, Operation.pad == pad)
                .where(Operation.state == "pending")
                .order_by(Operation.id)
                .limit(BATCH)
            )
            return list(found)

    async def _work(self, server: str, pad: str) -> None:
        key = (server, pad)
        wake = self._wake[key]
        delay = self.min_delay
        reported = False
        while True:
            wake.clear()
            operations = await self._next(server, pad)
            if not operations:
                if wake.is_set():
                    continue  # added while we looked; nothing between here and return awaits
                self._errors.pop(key, None)
                return
            operation = operations[0]
            try:
                await self._deliver(operations)
            except EtherpadAuthError as error:
                self._errors[key] = str(error)
                if not reported:
                    reported = True
                    log.error("pad %s on %s: %s", pad, server, error)
                    await self._tell(
                        operation,
                        f"Etherpad: {error}. The pad lines wait and will "
                        "be written once it accepts the bot again.",
                    )
            except EtherpadError as error:
                self._errors[key] = str(error)
                log.warning("pad %s on %s: %s; retrying in %.1f s", pad, server, error, delay)
            else:
                if reported:
                    log.info("pad %s on %s accepts the bot again", pad, server)
                delay, reported = self.min_delay, False
                self._errors.pop(key, None)
                continue
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.max_delay)

    async def _tell(self, operation: Operation, text: str) -> None:
        try:
            await self.notify(operation.network, operation.room, text)
        except Exception:
            log.exception("could not tell %s about the pad", operation.room)

    async def _deliver(self, operations: list[Operation]) -> None:
        first = operations[0]
        client = self.clients.get(first.server)
        if client is None:
            raise EtherpadError(f"no Etherpad server named {first.server!r} in the config")
        if first.replaces is not None:
            await self._replace(client, first)
            return
        # Appends up to the next rewrite, which must follow them in order.
        rewrite = next((i for i, op in enumerate(operations) if op.replaces is not None), None)
        operations = operations[:rewrite]
        if any(operation.attempts > 0 for operation in operations):
            # Tried before, outcome unknown: whatever is already in the pad is done.
            try:
                text = await client.get_text(first.pad)
            except EtherpadNoPad:
                text = ""
            landed = [op.id for op in operations if op.attempts > 0 and marker(op.id) in text]
            if landed:
                await self._done(landed)
                operations = [op for op in operations if op.id not in landed]
                if not operations:
                    return
        ids = [operation.id for operation in operations]
        await self._attempted(ids)
        lines = "".join(
            "\n" + operation.text.replace("\n", " ") + marker(operation.id)
            for operation in operations
        )
        try:
            await client.append_text(first.pad, lines)
        except EtherpadNoPad:
            await client.create_pad(first.pad)
            await client.append_text(first.pad, lines)
        await self._done(ids)

    async def _replace(self, client: EtherpadClient, operation: Operation) -> None:
        """Rewrite the line of an earlier operation (found by its marker) in place; a line
        someone already deleted from the pad needs nothing. Doing it twice does no harm."""
        assert operation.replaces is not None
        await self._attempted([operation.id])
        try:
            text = await client.get_text(operation.pad)
        except EtherpadNoPad:
            text = ""
        mark = marker(operation.replaces)
        lines = text.split("\n")
        changed = [
            operation.text.replace("\n", " ") + mark if mark in line else line for line in lines
        ]
        if changed != lines:
            await client.set_text(operation.pad, "\n".join(changed))
        await self._done([operation.id])

    async def _attempted(self, ids: list[int]) -> None:
        async with self.storage.session() as session, session.begin():
            await session.execute(
                update(Operation)
                .where(Operation.id.in_(ids))
                .values(attempts=Operation.attempts + 1)
            )

    async def _done(self, ids: list[int]) -> None:
        async with self.storage.session() as session, session.begin():
            await session.execute(
                update(Operation)
                .where(Operation.id.in_(ids))
                .values(state="done", done_at=utcnow(), last_error=None)
            )
        self.delivered += len(ids)
