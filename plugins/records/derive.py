"""The ledger's rows, derived from what the records plugin heard: one row per credit, and the
whole ledger again from the stored events (``opsbot records rebuild``)."""

from __future__ import annotations

import itertools
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select

from .ledger import Credit, credits_of
from .models import Entry, HeardEvent

if TYPE_CHECKING:
    from opsbot.storage import Storage


def entry_row(credit: Credit, entry_id: int) -> dict[str, Any]:
    row = {name: getattr(credit, name) for name in field_names(Credit)}
    row["id"] = entry_id
    row["withdrawn"] = False
    return row


_FIELDS: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (``dataclasses.fields`` and ``asdict`` are slow per call)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


async def next_entry_id(storage: Storage) -> int:
    async with storage.session() as session:
        return int(await session.scalar(select(func.max(Entry.id))) or 0) + 1


async def rebuild(storage: Storage) -> int:
    """Derive the ledger again from the stored events; returns the entries made."""
    ids = itertools.count(1)
    withdrawn: set[str] = set()
    entries: list[dict[str, Any]] = []
    async with storage.engine.begin() as conn:
        await conn.execute(delete(Entry))
        events = await conn.stream(
            select(HeardEvent.kind, HeardEvent.data, HeardEvent.ts).order_by(HeardEvent.id)
        )
        async for kind, data, ts in events:
            if kind == "kudos_withdrawn":
                withdrawn.add(f"kudos:{data['kudos_id']}")
            else:
                entries += [entry_row(c, next(ids)) for c in credits_of(kind, data, ts)]
        for entry in entries:
            entry["withdrawn"] = entry["source"] in withdrawn
        for start in range(0, len(entries), 5_000):
            await conn.execute(insert(Entry), entries[start : start + 5_000])
    return len(entries)
