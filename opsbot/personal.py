"""Everything opsbot keeps about one person: given to them as one JSON document (their
identities and links, preferences, the audit rows about them, and what each enabled plugin keeps,
:meth:`opsbot.plugin.Plugin.personal_data`) for ``!mydata`` (a private link on the bot's site,
valid an hour) and ``opsbot people export``; and forgotten (``!forget me``, ``opsbot people
forget``): links, preferences and what each plugin keeps of theirs alone removed, their name
replaced by a stable pseudonym where counts stand (:meth:`opsbot.plugin.Plugin.forget`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from .audit import AuditRow
from .events import utcnow
from .people import IdentityRow, People, PreferenceRow, any_identity
from .plugin import Plugin
from .state import StateRow
from .storage import Storage

Key = tuple[str, str]
LINK_SECONDS = 3600.0
FORGET_SCOPE = "forget"


async def personal_data(
    storage: Storage, plugins: Mapping[str, type[Plugin]], key: Key
) -> dict[str, Any]:
    identities = await People(storage).identities(key)
    names = [f"{network}:{account}" for network, account in identities]
    async with storage.session() as session:
        links = (
            await session.scalars(
                select(IdentityRow).where(
                    any_identity(IdentityRow.network, IdentityRow.account, identities)
                )
            )
        ).all()
        preferences = (
            await session.scalars(
                select(PreferenceRow).where(
                    any_identity(PreferenceRow.network, PreferenceRow.account, identities)
                )
            )
        ).all()
        audit = (
            await session.scalars(
                select(AuditRow).where(AuditRow.who.in_(names)).order_by(AuditRow.id)
            )
        ).all()
    found: dict[str, Any] = {
        "made_at": utcnow().isoformat(),
        "identities": names,
        "links": [
            {
                "identity": f"{r.network}:{r.account}",
                "linked_at": r.linked_at.isoformat(),
                "linked_by": r.linked_by,
            }
            for r in links
        ],
        "preferences": [
            {"identity": f"{r.network}:{r.account}", "name": r.name, "value": r.value}
            for r in preferences
        ],
        "audit": [
            {"time": r.ts.isoformat(), "identity": r.who, "action": r.action, "detail": r.detail}
            for r in audit
        ],
    }
    for name, cls in plugins.items():
        part = await cls.personal_data(storage, identities)
        if part:
            found[name] = part
    return found


class Downloads:
    """Documents waiting behind a secret link for an hour, kept in the database so that every
    process of a group serves the link (fetched as often as needed: a chat client's link
    preview may fetch it first)."""

    SCOPE = "mydata"

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def put(self, document: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(24)
        now = utcnow()
        async with self.storage.session() as session, session.begin():
            await session.execute(
                delete(StateRow).where(
                    StateRow.scope == self.SCOPE,
                    StateRow.updated_at < now - timedelta(seconds=LINK_SECONDS),
                )
            )
            session.add(
                StateRow(scope=self.SCOPE, key=token, value=json.dumps(document), updated_at=now)
            )
        return token

    async def get(self, token: str) -> dict[str, Any] | None:
        async with self.storage.session() as session:
            row = await session.get(StateRow, (self.SCOPE, token[:128]))
        if row is None or utcnow() - row.updated_at > timedelta(seconds=LINK_SECONDS):
            return None
        found: dict[str, Any] = json.loads(row.value)
        return found


async def pseudonym_of(storage: Storage, identities: list[Key]) -> str:
    """A stable pseudonym for a person: the same for the same identities, not to be guessed
    back from their names (keyed by a secret made once per database)."""
    async with storage.session() as session, session.begin():
        row = await session.get(StateRow, (FORGET_SCOPE, "salt"))
        if row is None:
            row = StateRow(
                scope=FORGET_SCOPE, key="salt", value=secrets.token_hex(16), updated_at=utcnow()
            )
            session.add(row)
        salt = row.value
    network, account = min(identities)
    first = f"{network}:{account}"
    return "forgotten-" + hmac.new(salt.encode(), first.encode(), hashlib.sha256).hexdigest()[:8]


async def forget(storage: Storage, plugins: Mapping[str, type[Plugin]], key: Key, by: str) -> str:
    """Forget the person ``key`` is, with every identity linked to it; returns the pseudonym."""
    identities = await People(storage).identities(key)
    pseudonym = await pseudonym_of(storage, identities)
    for cls in plugins.values():
        await cls.forget(storage, identities, pseudonym)
    names = [f"{network}:{account}" for network, account in identities]
    async with storage.session() as session, session.begin():
        for network, account in identities:
            await session.execute(
                delete(PreferenceRow).where(
                    PreferenceRow.network == network, PreferenceRow.account == account
                )
            )
            await session.execute(
                delete(IdentityRow).where(
                    IdentityRow.network == network, IdentityRow.account == account
                )
            )
        await session.execute(
            update(AuditRow).where(AuditRow.who.in_(names)).values(who=pseudonym, detail="")
        )
        session.add(
            AuditRow(ts=utcnow(), who=pseudonym, action="forgotten", detail=f"asked by {by}")
        )
    return pseudonym
