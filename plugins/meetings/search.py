"""Full-text search over meeting lines (what the minutes list is said in the log too): SQLite
FTS5 on the embedded store, PostgreSQL full-text search on PostgreSQL; filters by meeting name,
date range and person (nick or account). Restricted meetings are never searched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, literal_column, or_, select, table, text

from opsbot.storage import Storage

from .models import LineRow, MeetingRow

FTS = table("meetings_lines_fts", column("rowid"))
SIMPLE: Any = literal_column("'simple'::regconfig")
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Hit:
    meeting_id: int
    name: str
    base: str
    started_at: datetime
    seq: int
    ts: datetime
    nick: str
    text: str

    @property
    def anchor(self) -> str:
        """The log line's place in the archive."""
        return f"/meetings/{self.base}.log.html#l-{self.seq}"


def words(query: str) -> list[str]:
    return WORD.findall(query)


async def search(
    storage: Storage,
    query: str,
    *,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    person: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Hit]:
    """Lines with every word of ``query``, newest logged first (as logs are read: what was
    said lately about it)."""
    terms = words(query)
    if not terms:
        return []
    found: Any = (
        select(
            LineRow.meeting_id, MeetingRow.name, MeetingRow.base, MeetingRow.started_at,
            LineRow.seq, LineRow.ts, LineRow.nick, LineRow.text,
        )
        .join(MeetingRow, MeetingRow.id == LineRow.meeting_id)
        .where(MeetingRow.restricted.is_(False), MeetingRow.base.is_not(None))
    )  # fmt: skip
    if storage.engine.dialect.name == "postgresql":
        vector = func.to_tsvector(SIMPLE, LineRow.text)
        wanted = func.plainto_tsquery(SIMPLE, " ".join(terms))
        # Newest logged first, as on SQLite: where many lines match, the planner walks the
        # lines backwards and stops at the page's end instead of sorting every match.
        found = found.where(vector.op("@@")(wanted)).order_by(LineRow.id.desc())
    else:
        matched = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        found = (
            found.join(FTS, FTS.c.rowid == LineRow.id)
            .where(text("meetings_lines_fts MATCH :matched").bindparams(matched=matched))
            # Newest first, in the index's own order: the search stops at the page's end
            # instead of ranking every line that matches.
            .order_by(FTS.c.rowid.desc())
        )
    if name:
        found = found.where(MeetingRow.name == name.lower())
    if since is not None:
        found = found.where(LineRow.ts >= since)
    if until is not None:
        found = found.where(LineRow.ts < until)
    if person:
        who = person.casefold()
        found = found.where(
            or_(func.lower(LineRow.nick) == who, func.lower(LineRow.account) == who)
        )
    async with storage.session() as session:
        rows = await session.execute(found.limit(limit).offset(offset))
        return [Hit(*row) for row in rows.all()]


def marked(line: str, query: str) -> list[tuple[str, bool]]:
    """``line`` cut into (text, is a searched word) pieces, for the template to mark (the
    pieces stay text: the template escapes them)."""
    terms = {t.casefold() for t in words(query)}
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in WORD.finditer(line):
        if match.group().casefold() in terms:
            if match.start() > last:
                pieces.append((line[last : match.start()], False))
            pieces.append((match.group(), True))
            last = match.end()
    if last < len(line):
        pieces.append((line[last:], False))
    return pieces
