"""Delivering pad lines: the ``etherpad`` channel of the core outbox (:mod:`opsbot.outbox`).

Each line is stored before it is attempted and delivered in order per pad (the entry's target
is ``server`` and ``pad``); lines waiting for one pad go in one append. A line carries an
idempotency marker, its entry ID written in invisible characters at its end: an entry that was
attempted before (the bot cannot know whether that append landed: a timeout, a crash) is first
looked for in the pad's text, and only appended if it is not there, so a retry never writes a
line twice. An entry with ``replaces`` rewrites an earlier line (found by its marker) in place.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.groupcommit import GroupCommit
from opsbot.outbox import Entry, Held, Outbox, Status
from opsbot.storage import Storage

from .client import EtherpadAuthError, EtherpadClient, EtherpadError, EtherpadNoPad

log = logging.getLogger("opsbot.plugins.etherpad")

CHANNEL = "etherpad"
LEGACY_WRITER = "etherpad outbox writer"
"""The name of 0.10's own pad-line writer, whose spool an upgrade may find."""
BATCH = 50
"""Lines of one pad delivered in one append while catching up."""
_BITS = {"0": "\u200b", "1": "\u200c"}
_EDGE = "\u2063"

Notify = Callable[[str, str, str], Awaitable[None]]
"""(network, room, text): tell the people of a room something."""


def marker(entry_id: int) -> str:
    """The entry's ID in zero-width characters, fenced so no ID is part of another."""
    return _EDGE + "".join(_BITS[bit] for bit in bin(entry_id)[2:]) + _EDGE


def target(server: str, pad: str) -> str:
    return f"{server}\n{pad}"


def item_ref(meeting_id: int, seq: int) -> str:
    """How the outbox finds the lines that record one meeting item (its log line)."""
    return f"{meeting_id}:{seq}"


async def adopt_legacy_spool(storage: Storage, outbox: Outbox) -> None:
    """Lines 0.10 kept in its own spool while the database was away (an upgrade in the middle
    of an outage) go to the core outbox: exactly those the database lacks, once, in order."""
    spool_dir = storage.spool_dir
    if spool_dir is None or not (spool_dir / f"{LEGACY_WRITER.replace(' ', '-')}.jsonl").exists():
        return

    async def write(items: list[dict[str, Any]], conn: AsyncConnection) -> None:
        await outbox.write([_translated(item) for item in items], conn)

    legacy: GroupCommit[dict[str, Any]] = GroupCommit(write, name=LEGACY_WRITER, storage=storage)
    await legacy.start()
    await legacy.stop()
    if legacy.spool is not None:  # it was ours to read (no older bot still holds it)
        legacy.spool.path.unlink(missing_ok=True)
        legacy.spool.path.with_suffix(".lock").unlink(missing_ok=True)
        log.info("pad lines kept in 0.10's spool are in the core outbox")


def _translated(item: dict[str, Any]) -> dict[str, Any]:
    if item["op"] == "add":
        seq = item.get("item_seq")
        return {
            "op": "add", "channel": CHANNEL, "target": target(item["server"], item["pad"]),
            "payload": {"server": item["server"], "pad": item["pad"], "text": item["text"],
                        "network": item["network"], "room": item["room"], "replaces": None},
            "key": None, "expires_at": None,
            "ref": item_ref(item["meeting_id"], seq) if seq is not None else None,
        }  # fmt: skip
    redacted = item["op"] == "scrub" or bool(item.get("redacted"))
    return {
        "op": "revise", "channel": CHANNEL, "ref": item_ref(item["meeting_id"], item["seq"]),
        "changes": {"text": item["text"]}, "scrub": redacted, "follow_up": item["op"] == "revise",
    }  # fmt: skip


class PadLines:
    """The plugin's side of the outbox: what it queues, and how a batch reaches a pad."""

    def __init__(self, outbox: Outbox, clients: dict[str, EtherpadClient], notify: Notify):
        self.outbox = outbox
        self.clients = clients
        self.notify = notify

    async def start(self, *, min_delay: float, max_delay: float) -> None:
        await adopt_legacy_spool(self.outbox.storage, self.outbox)
        await self.outbox.register(
            CHANNEL, self._deliver, batch=BATCH, held=self._held,
            first_delay=min_delay, most_delay=max_delay,
        )  # fmt: skip

    def add(
        self,
        server: str,
        pad: str,
        text: str,
        network: str,
        room: str,
        *,
        item: tuple[int, int] | None = None,
    ) -> None:
        """A line for the pad; ``item`` is the (meeting, log line) it records."""
        payload: dict[str, Any] = {
            "server": server, "pad": pad, "text": text, "network": network, "room": room,
            "replaces": None,
        }  # fmt: skip
        self.outbox.add(
            CHANNEL, target(server, pad), payload, ref=item_ref(*item) if item else None
        )

    def revise(self, meeting_id: int, seq: int, text: str, *, redacted: bool) -> None:
        """The item now says ``text``: each pad line that recorded it is rewritten in place;
        after a redaction no stored entry keeps the old text."""
        self.outbox.revise(
            CHANNEL, item_ref(meeting_id, seq), {"text": text}, scrub=redacted, follow_up=True
        )

    def scrub(self, meeting_id: int, seq: int, text: str) -> None:
        """No stored entry keeps the text of a redacted item's line (the pad is left)."""
        self.outbox.revise(
            CHANNEL, item_ref(meeting_id, seq), {"text": text}, scrub=True, follow_up=False
        )

    async def status(self, server: str, pad: str) -> Status:
        return await self.outbox.status(CHANNEL, target(server, pad))

    async def idle(self) -> None:
        """Wait until no line waits (tests and the benchmark)."""
        await self.outbox.idle()

    @property
    def delivered(self) -> int:
        """Entries the core outbox delivered since start (of every channel)."""
        return self.outbox.delivered

    async def _held(self, entry: Entry, error: Exception) -> None:
        await self.notify(
            entry.payload["network"],
            entry.payload["room"],
            f"Etherpad: {error}. The pad lines wait and will be written once it accepts the "
            "bot again.",
        )

    async def _deliver(self, entries: list[Entry]) -> int:
        first = entries[0].payload
        client = self.clients.get(first["server"])
        if client is None:
            raise EtherpadError(f"no Etherpad server named {first['server']!r} in the config")
        try:
            if first["replaces"] is not None:
                await self._replace(client, entries[0])
                return 1
            return await self._append(client, entries)
        except EtherpadAuthError as error:
            raise Held(str(error)) from error

    async def _append(self, client: EtherpadClient, entries: list[Entry]) -> int:
        """Appends up to the next rewrite, which must follow them in order."""
        pad = entries[0].payload["pad"]
        rewrite = next(
            (i for i, e in enumerate(entries) if e.payload["replaces"] is not None), len(entries)
        )
        lines = entries[:rewrite]
        if any(entry.attempts > 0 for entry in lines):
            # Tried before, outcome unknown: whatever is already in the pad is done.
            try:
                text = await client.get_text(pad)
            except EtherpadNoPad:
                text = ""
            lines = [e for e in lines if not (e.attempts > 0 and marker(e.id) in text)]
            if not lines:
                return rewrite
        appended = "".join(
            "\n" + entry.payload["text"].replace("\n", " ") + marker(entry.id) for entry in lines
        )
        try:
            await client.append_text(pad, appended)
        except EtherpadNoPad:
            await client.create_pad(pad)
            await client.append_text(pad, appended)
        return rewrite

    async def _replace(self, client: EtherpadClient, entry: Entry) -> None:
        """Rewrite the line of an earlier entry (found by its marker) in place; a line someone
        already deleted from the pad needs nothing. Doing it twice does no harm."""
        pad = entry.payload["pad"]
        try:
            text = await client.get_text(pad)
        except EtherpadNoPad:
            text = ""
        mark = marker(entry.payload["replaces"])
        lines = text.split("\n")
        changed = [
            entry.payload["text"].replace("\n", " ") + mark if mark in line else line
            for line in lines
        ]
        if changed != lines:
            await client.set_text(pad, "\n".join(changed))
