"""The meetings plugin's storage: meetings, their log written with group commit, action items.

Every logged line is handed to :class:`LineWriter`, which commits whatever has arrived since its
last commit in one transaction: a line is durable within one commit's time of its arrival (a few
milliseconds), and a burst costs one commit, not one per line. A failed commit keeps its lines
and tries again; :meth:`LineWriter.flush` waits until everything handed over is committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.groupcommit import GroupCommit
from opsbot.storage import Storage

from .engine import REDACTED, SAID, Line, Meeting, sanitise_name
from .models import ActionRow, LineRow, MeetingRow

log = logging.getLogger("opsbot.plugins.meetings")
LINES_CHANNEL = "opsbot_meeting_lines"
"""The PostgreSQL notification the line writer sends with each batch it commits, for the
processes standing by that follow meetings in progress (:mod:`.follow`)."""


def line_row(meeting_id: int, line: Line) -> dict[str, Any]:
    return {
        "meeting_id": meeting_id,
        "seq": line.seq,
        "ts": line.ts,
        "kind": line.kind,
        "nick": line.nick,
        "account": line.account,
        "display": line.display,
        "text": line.text,
        "is_bot": line.is_bot,
        "msg_id": line.msg_id,
        "target_id": line.target_id,
        "moderator": line.moderator,
    }


def row_line(row: LineRow) -> Line:
    return Line(
        ts=row.ts,
        nick=row.nick,
        text=row.text,
        kind=row.kind,  # type: ignore[arg-type]
        account=row.account,
        display=row.display,
        is_bot=row.is_bot,
        msg_id=row.msg_id,
        target_id=row.target_id,
        moderator=row.moderator,
    )


@dataclass(frozen=True, slots=True)
class OpenAction:
    id: int
    text: str
    owners: list[str]
    meeting_name: str
    started_at: datetime


class MeetingStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._background: set[asyncio.Future[None]] = set()
        """Work that waits for the database off the rooms' lanes (kept until done)."""
        self.writer: GroupCommit[dict[str, Any]] = GroupCommit(
            self._write_lines, name="meeting log writer", storage=storage
        )
        self._recovering = False

    async def start(self) -> None:
        """Start the writer, storing first the lines an earlier run of this process kept in its
        spool (the database away, or the process killed before its last commit)."""
        self._recovering = True
        try:
            await self.writer.start()
        finally:
            self._recovering = False

    async def _write_lines(self, items: list[dict[str, Any]], conn: AsyncConnection) -> None:
        """Log lines, in order with the changes edits and redactions make to earlier ones."""
        rows: list[dict[str, Any]] = []
        for item in items:
            if "op" not in item:
                rows.append(item)
                continue
            if rows:
                await self._insert(conn, rows)
                rows = []
            await self._change(conn, item)
        if rows:
            await self._insert(conn, rows)
        if conn.dialect.name == "postgresql":  # sent when this transaction commits
            await conn.execute(text(f"NOTIFY {LINES_CHANNEL}"))

    async def _insert(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        if not self._recovering:
            await conn.execute(insert(LineRow), rows)
            return
        # Lines from a spool: in a group, another process may have gone on with the meeting
        # since (this one was killed before its last commit, and has now taken over again).
        # A line whose place is taken goes at the end of the meeting's log: late, never lost.
        for row in rows:
            where = (LineRow.meeting_id == row["meeting_id"], LineRow.seq == row["seq"])
            if await conn.scalar(select(LineRow.id).where(*where)) is not None:
                last = await conn.scalar(
                    select(func.max(LineRow.seq)).where(LineRow.meeting_id == row["meeting_id"])
                )
                log.warning(
                    "meeting %d: a line kept in the spool found its place taken (another "
                    "process went on with the meeting); stored at the end of its log",
                    row["meeting_id"],
                )
                row = {**row, "seq": int(last or 0) + 1}
            await conn.execute(insert(LineRow), [row])

    async def _change(self, conn: AsyncConnection, op: dict[str, Any]) -> None:
        meeting_id, msg_id = op["meeting_id"], op["msg_id"]
        said = (LineRow.meeting_id == meeting_id) & LineRow.kind.in_(SAID)
        if op["op"] == "edit":  # the line says its latest text; the old one is kept nowhere
            await conn.execute(update(LineRow).where(said, LineRow.msg_id == msg_id).values(
                text=op["text"]
            ))  # fmt: skip
            return
        # A redaction: the line, its edits and an action item it made keep no copy of the text.
        seqs = select(LineRow.seq).where(said, LineRow.msg_id == msg_id).scalar_subquery()
        await conn.execute(
            delete(ActionRow).where(ActionRow.meeting_id == meeting_id, ActionRow.seq.in_(seqs))
        )
        await conn.execute(
            update(LineRow)
            .where(
                LineRow.meeting_id == meeting_id,
                (LineRow.msg_id == msg_id)
                | ((LineRow.kind == "edit") & (LineRow.target_id == msg_id)),
            )
            .values(text=REDACTED)
        )

    def revise(self, meeting_id: int, msg_id: str, text: str | None) -> None:
        """After the lines already logged: the line ``msg_id`` now says ``text`` (an edit) or,
        with None, was redacted."""
        if text is None:
            self.writer.add({"op": "redact", "meeting_id": meeting_id, "msg_id": msg_id})
            self.later(self._forget_after_redaction())
        else:
            self.writer.add(
                {"op": "edit", "meeting_id": meeting_id, "msg_id": msg_id, "text": text}
            )

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (which waits for the database) beside the rooms' lanes."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _forget_after_redaction(self) -> None:
        try:
            await self.writer.flush()
            await self.storage.forget_old_pages()
        except Exception as error:  # the redaction is stored; only the old pages linger
            log.warning("could not clear old database pages after a redaction: %s", error)

    async def meetings_with_message(self, network: str, room: str, msg_id: str) -> list[int]:
        """Meetings of a room whose log holds the message ``msg_id`` (a redaction after the
        meeting ended must still reach it)."""
        async with self.storage.session() as session:
            found = await session.scalars(
                select(LineRow.meeting_id)
                .join(MeetingRow, MeetingRow.id == LineRow.meeting_id)
                .where(
                    MeetingRow.network == network,
                    MeetingRow.room == room,
                    LineRow.msg_id == msg_id,
                )
                .distinct()
            )
            return list(found)

    async def create(
        self,
        network: str,
        room: str,
        channel: str,
        name: str,
        started_at: datetime,
        owner: str,
        source: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> int:
        """Record a meeting that has just started (before its first line is written), with
        the settings its lines are read by."""
        async with self.storage.session() as session, session.begin():
            row = MeetingRow(
                network=network,
                room=room,
                channel=channel,
                name=name,
                started_at=started_at,
                owner=owner,
                restricted=False,
                source=source,
                settings=settings,
            )
            session.add(row)
            await session.flush()
            return row.id

    async def insert_lines(self, meeting_id: int, lines: Sequence[Line]) -> None:
        """Store a whole log at once (imports)."""
        if lines:
            async with self.storage.engine.begin() as conn:
                await conn.execute(insert(LineRow), [line_row(meeting_id, line) for line in lines])

    async def open_meetings(self) -> list[tuple[MeetingRow, list[Line]]]:
        """Meetings that never ended (the bot stopped or crashed), with their logs."""
        async with self.storage.session() as session:
            rows = (
                await session.scalars(select(MeetingRow).where(MeetingRow.ended_at.is_(None)))
            ).all()
            found = []
            for row in rows:
                lines = await session.scalars(
                    select(LineRow).where(LineRow.meeting_id == row.id).order_by(LineRow.seq)
                )
                found.append((row, [row_line(line) for line in lines]))
        return found

    async def finish(
        self, meeting_id: int, meeting: Meeting, base: str, summary: dict[str, Any], ended: bool
    ) -> None:
        """Store what the meeting became (name, end, files) and its action items."""
        await self.writer.flush()
        values: dict[str, Any] = {
            "name": meeting.name,
            "restricted": meeting.restricted,
            "base": base,
            "summary": summary,
        }
        if ended:
            values["ended_at"] = meeting.ended_at or (
                meeting.lines[-1].ts if meeting.lines else None
            )
        current = {item.seq: (item, meeting.owners(item)) for item in meeting.actions()}
        async with self.storage.engine.begin() as conn:
            await conn.execute(
                update(MeetingRow).where(MeetingRow.id == meeting_id).values(**values)
            )
            existing = {
                row.seq: row
                for row in await conn.execute(
                    select(ActionRow.id, ActionRow.seq, ActionRow.text, ActionRow.owners).where(
                        ActionRow.meeting_id == meeting_id
                    )
                )
            }
            gone = [row.id for seq, row in existing.items() if seq not in current]
            if gone:
                await conn.execute(delete(ActionRow).where(ActionRow.id.in_(gone)))
            new = [
                {
                    "meeting_id": meeting_id,
                    "seq": seq,
                    "text": item.text,
                    "owners": owners,
                    "state": "open",
                    "created_at": item.ts,
                }
                for seq, (item, owners) in current.items()
                if seq not in existing
            ]
            if new:
                await conn.execute(insert(ActionRow), new)
            for seq, (item, owners) in current.items():
                row = existing.get(seq)
                if row is not None and (row.text, list(row.owners)) != (item.text, owners):
                    await conn.execute(
                        update(ActionRow)
                        .where(ActionRow.id == row.id)
                        .values(text=item.text, owners=owners)
                    )

    async def open_actions(
        self,
        *,
        meeting_name: str | None = None,
        owner: str | None = None,
        before_meeting: int | None = None,
        limit: int = 50,
    ) -> list[OpenAction]:
        """Open action items, newest meetings first; ``before_meeting`` keeps those of the
        meetings of that name that ended, other than the given one (the series so far)."""
        query = (
            select(ActionRow, MeetingRow)
            .join(MeetingRow, ActionRow.meeting_id == MeetingRow.id)
            .where(ActionRow.state == "open", MeetingRow.restricted.is_(False))
            .order_by(MeetingRow.started_at.desc(), ActionRow.seq)
        )
        async with self.storage.session() as session:
            if meeting_name is not None:
                query = query.where(MeetingRow.name == meeting_name)
                if before_meeting is not None:
                    query = query.where(
                        MeetingRow.id != before_meeting, MeetingRow.ended_at.is_not(None)
                    )
            rows = (await session.execute(query)).all()
        found = [
            OpenAction(
                action.id, action.text, list(action.owners), meeting.name, meeting.started_at
            )
            for action, meeting in rows
        ]
        if owner is not None:
            found = [a for a in found if owner.casefold() in (o.casefold() for o in a.owners)]
        return found[:limit]

    async def action_ids(self, meeting_id: int) -> list[int]:
        """IDs of a meeting's action items, in the order they were recorded."""
        async with self.storage.session() as session:
            found = await session.scalars(
                select(ActionRow.id)
                .where(ActionRow.meeting_id == meeting_id)
                .order_by(ActionRow.seq)
            )
            return list(found)

    async def imported_from(self, source: str) -> int | None:
        """The meeting imported from ``source`` (an archive's path), if any."""
        async with self.storage.session() as session:
            found = await session.scalar(select(MeetingRow.id).where(MeetingRow.source == source))
            return None if found is None else int(found)

    async def action(self, action_id: int) -> tuple[ActionRow, MeetingRow] | None:
        """An action item and its meeting."""
        async with self.storage.session() as session:
            found = (
                await session.execute(
                    select(ActionRow, MeetingRow)
                    .join(MeetingRow, ActionRow.meeting_id == MeetingRow.id)
                    .where(ActionRow.id == action_id)
                )
            ).first()
        return None if found is None else (found[0], found[1])

    async def close_action(self, action_id: int, by: str, when: datetime) -> ActionRow | None:
        async with self.storage.session() as session, session.begin():
            row = await session.get(ActionRow, action_id)
            if row is None or row.state != "open":
                return row
            row.state, row.done_at, row.done_by = "done", when, by
            return row

    async def accounts_in(self, meeting_id: int) -> dict[str, str]:
        return await accounts_in(self.storage, meeting_id)

    async def meetings(
        self,
        *,
        name: str | None = None,
        room: tuple[str, str] | None = None,
        since: datetime | None = None,
    ) -> Sequence[MeetingRow]:
        """Ended meetings, newest first. ``name`` is taken as a person types it: the stored name
        (an imported ``ops-meetup``) or the one MeetBot makes of it (``scientific-sig`` is
        ``scientific_sig``)."""
        query = (
            select(MeetingRow)
            .where(MeetingRow.ended_at.is_not(None))
            .order_by(MeetingRow.started_at.desc())
        )
        if name is not None:
            query = query.where(MeetingRow.name.in_({name.lower(), sanitise_name(name)}))
        if room is not None:
            query = query.where(MeetingRow.network == room[0], MeetingRow.room == room[1])
        if since is not None:
            query = query.where(MeetingRow.started_at >= since)
        async with self.storage.session() as session:
            return (await session.scalars(query)).all()

    async def lines(self, meeting_id: int) -> list[Line]:
        async with self.storage.session() as session:
            rows = await session.scalars(
                select(LineRow).where(LineRow.meeting_id == meeting_id).order_by(LineRow.seq)
            )
            return [row_line(row) for row in rows]

    async def meeting(self, meeting_id: int) -> MeetingRow | None:
        async with self.storage.session() as session:
            return await session.get(MeetingRow, meeting_id)


async def accounts_in(storage: Storage, meeting_id: int) -> dict[str, str]:
    """Casefolded nick to the account it spoke with in a meeting (the last one seen)."""
    async with storage.session() as session:
        rows = await session.execute(
            select(LineRow.nick, LineRow.account)
            .where(LineRow.meeting_id == meeting_id, LineRow.account.is_not(None))
            .distinct()
        )
        return {nick.casefold(): account for nick, account in rows.all() if account}
