"""Read-only queries over the meetings archive, as the web site and its API ask them: only
ended meetings whose logs are not restricted are ever found. The one data path of the web
pages (they hold this and the live meetings, never the plugin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from opsbot.storage import Storage

from .models import ActionRow, LineRow, MeetingRow
from .search import Hit, search
from .store import accounts_in


class Archive:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._public_bases: set[str] = set()

    @staticmethod
    def _public() -> Any:
        return select(MeetingRow).where(
            MeetingRow.restricted.is_(False), MeetingRow.ended_at.is_not(None)
        )

    async def names(self) -> list[tuple[str, int, datetime]]:
        """Each meeting name with how many meetings and the latest's start."""
        query = (
            select(MeetingRow.name, func.count(), func.max(MeetingRow.started_at))
            .where(MeetingRow.restricted.is_(False), MeetingRow.ended_at.is_not(None))
            .group_by(MeetingRow.name)
            .order_by(MeetingRow.name)
        )
        async with self.storage.session() as session:
            return [(str(n), int(c), latest) for n, c, latest in (await session.execute(query))]

    async def named(self, name: str) -> list[MeetingRow]:
        """The meetings of a name, newest first."""
        async with self.storage.session() as session:
            rows = await session.scalars(
                self._public()
                .where(MeetingRow.name == name.lower())
                .order_by(MeetingRow.started_at.desc())
            )
            return list(rows)

    async def is_public(self, base: str) -> bool:
        """Whether ``base`` is an ended meeting that is not restricted (remembered: an ended
        meeting stays as it is)."""
        if base in self._public_bases:
            return True
        async with self.storage.session() as session:
            found = await session.scalar(
                select(MeetingRow.id).where(
                    MeetingRow.base == base,
                    MeetingRow.restricted.is_(False),
                    MeetingRow.ended_at.is_not(None),
                )
            )
        if found is not None:
            if len(self._public_bases) > 50_000:
                self._public_bases.clear()
            self._public_bases.add(base)
        return found is not None

    async def meetings(
        self, *, name: str | None, since: datetime | None, limit: int
    ) -> list[MeetingRow]:
        found = self._public().order_by(MeetingRow.started_at.desc())
        if name:
            found = found.where(MeetingRow.name == name.lower())
        if since is not None:
            found = found.where(MeetingRow.started_at >= since)
        async with self.storage.session() as session:
            return list((await session.scalars(found.limit(limit))).all())

    async def meeting_row(self, meeting_id: int) -> MeetingRow | None:
        """A public meeting's row alone."""
        async with self.storage.session() as session:
            found: MeetingRow | None = await session.scalar(
                self._public().where(MeetingRow.id == meeting_id)
            )
            return found

    async def meeting(
        self, meeting_id: int
    ) -> tuple[MeetingRow, list[LineRow], list[ActionRow]] | None:
        """A public meeting with its log and action items."""
        async with self.storage.session() as session:
            row = await session.scalar(self._public().where(MeetingRow.id == meeting_id))
            if row is None:
                return None
            lines = await session.scalars(
                select(LineRow).where(LineRow.meeting_id == meeting_id).order_by(LineRow.seq)
            )
            actions = await session.scalars(
                select(ActionRow).where(ActionRow.meeting_id == meeting_id).order_by(ActionRow.seq)
            )
            return row, list(lines), list(actions)

    async def actions(
        self, *, state: str, meeting: str | None
    ) -> list[tuple[ActionRow, MeetingRow]]:
        """Action items of public meetings (``state`` open, done or all), newest first."""
        found = (
            select(ActionRow, MeetingRow)
            .join(MeetingRow, MeetingRow.id == ActionRow.meeting_id)
            .where(MeetingRow.restricted.is_(False))
            .order_by(MeetingRow.started_at.desc(), ActionRow.seq)
            .limit(1000)
        )
        if state != "all":
            found = found.where(ActionRow.state == state)
        if meeting:
            found = found.where(MeetingRow.name == meeting.lower())
        async with self.storage.session() as session:
            return [(action, row) for action, row in (await session.execute(found)).all()]

    async def accounts_in(self, meeting_id: int) -> dict[str, str]:
        """Casefolded nick to the account it spoke with in a meeting."""
        return await accounts_in(self.storage, meeting_id)

    async def search(
        self,
        words: str,
        *,
        name: str | None,
        since: datetime | None,
        until: datetime | None,
        person: str | None,
        limit: int,
        offset: int,
    ) -> list[Hit]:
        return await search(
            self.storage, words, name=name, since=since, until=until, person=person,
            limit=limit, offset=offset,
        )  # fmt: skip
