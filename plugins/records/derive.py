"""The ledger's rows, derived from what the records plugin heard: one row per credit, and the
whole ledger again from the stored events (``opsbot records rebuild``)."""

from __future__ import annotations

import itertools
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, delete, func, insert, or_, select, update

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
            elif kind == "claim":
                since = datetime.fromisoformat(data["since"])
                for entry in entries:
                    if (entry["network"], entry["account"]) == (
                        data["network"],
                        data["handle"],
                    ) and entry["ts"] >= since:
                        entry["account"] = data["account"]
            else:
                entries += [entry_row(c, next(ids)) for c in credits_of(kind, data, ts)]
        for entry in entries:
            entry["withdrawn"] = entry["source"] in withdrawn
        for start in range(0, len(entries), 5_000):
            await conn.execute(insert(Entry), entries[start : start + 5_000])
    return len(entries)


def _replaced(value: Any, accounts: set[str], pseudonym: str) -> Any:
    """``value`` (a heard event's JSON) with each of ``accounts`` (exact strings, as values or
    keys) replaced by ``pseudonym``."""
    if isinstance(value, str):
        return pseudonym if value in accounts else value
    if isinstance(value, list):
        return [_replaced(v, accounts, pseudonym) for v in value]
    if isinstance(value, dict):
        return {
            (pseudonym if k in accounts else k): _replaced(v, accounts, pseudonym)
            for k, v in value.items()
        }
    return value


async def forget(storage: Storage, identities: list[tuple[str, str]], pseudonym: str) -> None:
    """A forgotten person's entries and the events they came from, under ``pseudonym``; the
    reasons of kudos to or from them emptied."""
    accounts = {account for _, account in identities}
    async with storage.engine.begin() as conn:
        for network, account in identities:
            await conn.execute(
                update(Entry)
                .where(Entry.network == network, Entry.account == account)
                .values(account=pseudonym, nick=pseudonym)
            )
        mentioning = or_(
            *(func.cast(HeardEvent.data, String).like(f'%"{account}"%') for account in accounts)
        )
        rows = (
            await conn.execute(
                select(HeardEvent.id, HeardEvent.kind, HeardEvent.data).where(mentioning)
            )
        ).all()
        for event_id, kind, data in rows:
            changed = _replaced(data, accounts, pseudonym)
            if kind == "kudos_given" and changed != data:
                changed["reason"] = ""
                changed["receiver_nick"] = (
                    pseudonym if changed.get("receiver", [None, None])[1] == pseudonym
                    else changed.get("receiver_nick")
                )  # fmt: skip
            if changed != data:
                await conn.execute(
                    update(HeardEvent).where(HeardEvent.id == event_id).values(data=changed)
                )


def claimed(data: dict[str, Any]) -> Any:
    """The update a claim makes: ``~nick`` entries since ``since`` to the claiming account."""
    return (
        update(Entry)
        .where(
            Entry.network == data["network"],
            Entry.account == data["handle"],
            Entry.ts >= datetime.fromisoformat(data["since"]),
        )
        .values(account=data["account"])
    )
