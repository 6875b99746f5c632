"""``opsbot status``: the group as the database sees it. Which processes share it and which one
is the bot (the lease's holder, from PostgreSQL's own ``pg_locks`` and ``pg_stat_activity``),
since when, and what waits in the outbox per channel: its depth, the oldest entry's age, the
last error."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from .events import utcnow
from .lease import LOCK_KEY
from .lease import SCOPE as LEASE_SCOPE
from .lease import wanted as lease_wanted
from .outbox import waiting_by_channel
from .state import State
from .storage import Storage

GROUP = text(
    "SELECT a.application_name, a.backend_start, "
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' "
    "AND l.granted AND l.objid = :key) AS holds "
    "FROM pg_stat_activity a WHERE a.application_name LIKE 'opsbot %' "
    "ORDER BY holds DESC, a.backend_start"
)


def _age(since: datetime | None) -> str:
    if since is None:
        return "?"
    seconds = int((utcnow() - since).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


async def report(storage: Storage, url: str) -> list[str]:
    lines = []
    if lease_wanted(url):
        async with storage.engine.connect() as conn:
            rows = (await conn.execute(GROUP, {"key": LOCK_KEY})).all()
        if not rows:
            lines.append("No opsbot process is connected to this database.")
        noted = await State(storage, LEASE_SCOPE).load()
        for name, since, holds in rows:
            if holds and noted.get("holder", "")[:63] == name:
                held = datetime.fromisoformat(noted["since"])
                lines.append(f"{name}: the bot since {_age(held)} ago, for {noted['networks']}")
            elif holds:
                lines.append(f"{name}: the bot (starting; connected {_age(since)} ago)")
            else:
                lines.append(f"{name}: standing by, serving the site if it has one "
                             f"(connected {_age(since)} ago)")  # fmt: skip
    else:
        lines.append("SQLite: one process, no group (a group needs PostgreSQL).")
    waiting = await waiting_by_channel(storage)
    if not waiting:
        lines.append("Outbox: nothing waits.")
    for each in waiting:
        line = f"Outbox {each.channel}: {each.count} waiting, the oldest for {_age(each.oldest)}"
        lines.append(line + (f"; last error: {each.last_error}" if each.last_error else ""))
    return lines
