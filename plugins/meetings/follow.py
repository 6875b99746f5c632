"""On a process that stands by: the meetings in progress, followed in the shared database as the
bot logs them, so the live pages this process serves show every line whichever process owns the
meeting's network.

The bot stores each meeting's lines in order (one writer: the lines' IDs grow as they commit);
the follower reads the lines newer than the last it read, replays them into its own copy of each
meeting (as a bot resuming a meeting does, so edits, redactions and ``#restrictlogs`` take
effect exactly as on the bot) and hands them to the live pages. It reads on a timer (``poll``),
or, on PostgreSQL, when the bot's line writer says so (``notify``: ``NOTIFY`` in the writer's
transaction, ``LISTEN`` here, with the timer kept as a fallback for a lost notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.events import Room
from opsbot.storage import Storage

from .engine import Meeting
from .live import Live, LiveFeed, LiveMeetings
from .models import LineRow, MeetingRow
from .store import LINES_CHANNEL as CHANNEL
from .store import row_line

log = logging.getLogger("opsbot.plugins.meetings")


class Follower:
    def __init__(
        self,
        storage: Storage,
        live: LiveMeetings,
        feed: LiveFeed,
        meeting_of: Callable[[MeetingRow, Room], Meeting],
        tz: tzinfo,
        *,
        mode: str,
        poll_seconds: float,
    ) -> None:
        self.storage = storage
        self.live = live
        self.feed = feed
        self.meeting_of = meeting_of
        self.tz = tz
        self.mode = mode
        self.poll_seconds = poll_seconds
        self._last: dict[int, int] = {}
        """Meeting ID to the ID of the last line of it read."""
        self._rooms: dict[int, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listening: AsyncConnection | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="meetings follower")

    async def stop(self, *_: Any) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._unlisten()

    async def _run(self) -> None:
        told = False
        while True:
            try:
                if self.mode == "notify" and self._listening is None:
                    await self._listen()
                await self.read()
                told = False
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database away: the pages keep what they have
                if not told:
                    log.warning("following the meetings in progress: %s", error)
                    told = True
                await self._unlisten()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def _listen(self) -> None:
        if self.storage.engine.dialect.name != "postgresql":
            return
        conn = await self.storage.engine.connect()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.add_listener(  # type: ignore[union-attr]
            CHANNEL, lambda *_: self._wake.set()
        )
        self._listening = conn

    async def _unlisten(self) -> None:
        conn, self._listening = self._listening, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()

    async def read(self) -> None:
        """Take in what the bot logged since the last read: new meetings, new lines, ends."""
        async with self.storage.session() as session:
            open_rows = {
                row.id: row
                for row in await session.scalars(
                    select(MeetingRow).where(MeetingRow.ended_at.is_(None))
                )
            }
            new_lines: list[LineRow] = []
            if self._last:  # each meeting from its own last line (one may be quiet, one busy)
                newer = or_(
                    *(
                        and_(LineRow.meeting_id == meeting_id, LineRow.id > last)
                        for meeting_id, last in self._last.items()
                    )
                )
                new_lines = list(
                    await session.scalars(select(LineRow).where(newer).order_by(LineRow.id))
                )
            started = {
                meeting_id: list(
                    await session.scalars(
                        select(LineRow).where(LineRow.meeting_id == meeting_id).order_by(LineRow.id)
                    )
                )
                for meeting_id in open_rows
                if meeting_id not in self._last
            }
        for row in new_lines:
            self._take(row)
        for meeting_id, rows in started.items():
            self._begin(open_rows[meeting_id], rows)
        for meeting_id in [m for m in self._last if m not in open_rows]:
            self._end(meeting_id)

    def _begin(self, row: MeetingRow, lines: list[LineRow]) -> None:
        room = Room(row.network, row.room, name=row.channel)
        meeting = self.meeting_of(row, room)
        live = Live(row.id, meeting, room)
        self.live[room.key] = live
        self._rooms[row.id] = room.key
        self._last[row.id] = 0
        for line in lines:
            self._take(line)

    def _take(self, row: LineRow) -> None:
        if row.id <= self._last.get(row.meeting_id, row.id):
            return
        self._last[row.meeting_id] = row.id
        live = self.live.get(self._rooms[row.meeting_id])
        if live is None:
            return
        line = row_line(row)
        try:
            live.meeting.feed(line)
        except Exception:
            log.exception("meeting %d: a line could not be replayed", row.meeting_id)
            return
        self.feed.publish(live.id, line)

    def _end(self, meeting_id: int) -> None:
        self._last.pop(meeting_id, None)
        key = self._rooms.pop(meeting_id, None)
        if key is not None and (live := self.live.get(key)) is not None and live.id == meeting_id:
            del self.live[key]
        self.feed.end(meeting_id)
