"""Plugin ``records``: contribution records per person, so a community can recognise operators
the way code contributors are recognised.

It keeps the domain events it hears (meetings ended, live or imported from archives; action items
closed; kudos given and withdrawn) and derives a ledger from them: meetings attended with the
lines said (as MeetBot's "People present" counts them), meetings chaired, action items owned and
completed, kudos received by category. Linked identities count
as one person. Recognition rules from the config say who meets what; ``!record [WHO|me]`` tells
in chat, ``opsbot records export`` hands everything to election officials.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import model_validator
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.domain import (
    ActionItemClosed,
    KudosGiven,
    KudosWithdrawn,
    LeaderboardOptOut,
    MeetingEnded,
)
from opsbot.events import DomainEvent, utcnow
from opsbot.groupcommit import GroupCommit
from opsbot.people import any_identity
from opsbot.plugin import Context, Plugin, PluginConfig, command, subscribe
from opsbot.storage import Storage

from . import derive
from .derive import entry_row, field_names, next_entry_id
from .ledger import Nomination, Rule, credits_of
from .models import Entry, HeardEvent
from .reads import Key, Part, RecordReads
from .web import PeopleSite


class RecordsConfig(PluginConfig):
    rules: list[Rule] = []
    nominations: list[Nomination] = []
    """People a rule counts as met for, by name, until a day (besides ``opsbot records
    nominate``); shown in ``!record`` and the export, ignored once expired."""

    @model_validator(mode="after")
    def _nominated_rules_exist(self) -> RecordsConfig:
        names = {rule.name for rule in self.rules}
        unknown = sorted({n.rule for n in self.nominations if n.rule not in names})
        if unknown:
            raise ValueError(f"nominations name rules that are not defined: {unknown}")
        return self


NOT_KEPT = {"ts", "minutes_text"}
"""Fields the ledger never reads: the time is stored beside the data, the minutes are on disk."""


def _plain(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as data for a JSON column. Domain events hold strings, numbers,
    tuples, string-keyed dicts and times; JSON takes the times as ISO text, and gives tuples
    back as lists, which the ledger reads alike."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name in field_names(type(event))
        if name not in NOT_KEPT
        for value in (getattr(event, name),)
    }


CLAIM_WITHIN = timedelta(days=1)
"""How far back ``!claim`` reaches: the day of the meeting the lines were said in."""


async def _written_by_the_bot() -> None:
    """Nothing to flush on a process standing by: it writes no records."""


class Records(Plugin):
    """Contribution records: meetings attended and chaired, action items, kudos; recognition rules."""

    web_paths = ("/people",)

    Config = RecordsConfig
    config: RecordsConfig
    hears_history = True  # imported MeetBot archives count too

    async def setup(self) -> None:
        self._ids = itertools.count(await next_entry_id(self.storage))
        # Events are written in groups: a kudos handler never waits on the records' database.
        self.writer: GroupCommit[tuple[str, datetime, dict[str, Any]]] = GroupCommit(
            self._write, name="records writer", storage=self.storage
        )
        await self.writer.start()  # what was spooled while the database was away, first
        site = self.web
        if site is not None:
            PeopleSite(self.reads, self.services.people, site)

    @classmethod
    async def forget(cls, storage: Storage, identities: list[Key], pseudonym: str) -> None:
        """The person's ledger entries stay (counts) under ``pseudonym``; the heard events
        they came from are rewritten alike, so a rebuild gives the same ledger."""
        await derive.forget(storage, identities, pseudonym)

    @classmethod
    async def personal_data(cls, storage: Storage, identities: list[Key]) -> dict[str, Any]:
        """The ledger entries credited to the person, withdrawn ones too."""
        mine = any_identity(Entry.network, Entry.account, identities)
        async with storage.session() as session:
            rows = (await session.scalars(select(Entry).where(mine).order_by(Entry.ts))).all()
        if not rows:
            return {}
        return {
            "ledger": [
                {"time": r.ts.isoformat(), "identity": f"{r.network}:{r.account}", "nick": r.nick,
                 "kind": r.kind, "meeting": r.meeting, "category": r.category, "count": r.count,
                 "source": r.source, "link": r.link, "withdrawn": r.withdrawn,
                 "private": r.private}
                for r in rows
            ]
        }  # fmt: skip

    async def serve_site(self) -> None:
        """Standing by: people's records from the shared database (the bot writes them)."""
        site = self.web
        if site is not None:
            reads = RecordReads(
                self.storage, self.config.rules, _written_by_the_bot, self.config.nominations
            )
            PeopleSite(reads, self.services.people, site)

    async def teardown(self) -> None:
        await self.writer.stop()

    # hearing

    def _heard(self, kind: str, event: DomainEvent) -> None:
        data = _plain(event)
        # Who the bot was, kept with the event: a rebuild gives it no credit either.
        data["bots"] = [
            list(key)
            for name in self.services.networks()
            for key in {
                self.services.me(name).handle,
                (name, "~" + self.services.me(name).nick.casefold()),
            }
        ]
        self.writer.add((kind, event.ts, data))

    async def _write(
        self, items: list[tuple[str, datetime, dict[str, Any]]], conn: AsyncConnection
    ) -> None:
        """Store heard events in order, with the credits they give; withdrawals last (each
        follows the kudos it takes back, in this batch or an earlier one)."""
        events = [{"ts": ts, "kind": kind, "data": data} for kind, ts, data in items]
        entries = [
            entry_row(credit, next(self._ids))
            for kind, ts, data in items
            for credit in credits_of(kind, data, ts)
        ]
        withdrawn = [
            f"kudos:{data['kudos_id']}" for kind, _, data in items if kind == "kudos_withdrawn"
        ]
        await conn.execute(insert(HeardEvent), events)
        if entries:
            await conn.execute(insert(Entry), entries)
        if withdrawn:
            await conn.execute(
                update(Entry).where(Entry.source.in_(withdrawn)).values(withdrawn=True)
            )
        for kind, _, data in items:
            if kind == "claim":
                await conn.execute(derive.claimed(data))

    @subscribe(MeetingEnded)
    async def meeting_ended(self, event: MeetingEnded) -> None:
        self._heard("meeting_ended", event)

    @subscribe(ActionItemClosed)
    async def action_closed(self, event: ActionItemClosed) -> None:
        self._heard("action_closed", event)

    @subscribe(LeaderboardOptOut)
    async def opt_out(self, event: LeaderboardOptOut) -> None:
        self._heard("opt_out", event)

    @subscribe(KudosGiven)
    async def kudos_given(self, event: KudosGiven) -> None:
        self._heard("kudos_given", event)

    @subscribe(KudosWithdrawn)
    async def kudos_withdrawn(self, event: KudosWithdrawn) -> None:
        self._heard("kudos_withdrawn", event)

    async def rebuild(self) -> int:
        """Derive the ledger again from the stored events; returns the entries made."""
        await self.flush()
        made = await derive.rebuild(self.storage)
        self._ids = itertools.count(made + 1)
        return made

    async def flush(self) -> None:
        """Everything heard so far is written."""
        await self.writer.flush()

    # asking (the queries live in RecordReads, which the web pages and the CLI share)

    @functools.cached_property
    def reads(self) -> RecordReads:
        """The read-only queries over this plugin's ledger."""
        return RecordReads(self.storage, self.config.rules, self.flush, self.config.nominations)

    async def record(self, identities: list[Key], now: datetime) -> dict[str, Any]:
        return await self.reads.record(identities, now)

    def export(
        self, *, since: datetime | None, rule: str | None, part: Part | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        return self.reads.export(since=since, rule=rule, part=part)

    async def parts(self, count: int) -> list[Part]:
        return await self.reads.parts(count)

    @command(
        "claim",
        usage="",
        help="Credit to your account what you said in meetings today before you identified.",
    )
    async def claim(self, ctx: Context) -> None:
        """Someone who spoke in a meeting unidentified (credited as ``~nick``) identifies and
        claims it, from the nick that said it, within a day; audited."""
        me = ctx.sender
        if me.key is None:
            await ctx.reply(f"Identify to an account on {me.network} first, then claim.")
            return
        handle = f"~{me.nick.casefold()}"
        since = utcnow() - CLAIM_WITHIN
        await self.flush()
        async with self.storage.session() as session:
            waiting = int(
                await session.scalar(
                    select(func.count()).where(
                        Entry.network == me.network, Entry.account == handle, Entry.ts >= since
                    )
                )
                or 0
            )
        if not waiting:
            await ctx.reply(
                f"Nothing said as {me.nick} without an account in the last day waits to be claimed."
            )
            return
        data = {"network": me.network, "handle": handle, "account": me.account,
                "since": since.isoformat()}  # fmt: skip
        self.writer.add(("claim", utcnow(), data))
        await self.flush()
        who = f"{me.network}:{me.account}"
        await self.services.audit.record(
            who, "records: claimed", f"{waiting} entries credited to {me.network}:{handle}"
        )
        await ctx.reply(f"Credited to {who}: {waiting} entries of {me.nick} from the last day.")

    @command("record", usage="[WHO|me]", help="Someone's contribution record and the rules met.")
    async def show(self, ctx: Context, who: str | None = None) -> None:
        person = ctx.sender if who in (None, "me") else ctx.services.member(ctx.room, who or "")
        if person is None:
            await ctx.reply(f"{who} is not here; records are kept per account.")
            return
        if person.key is None:
            await ctx.reply(f"{person.nick} is not identified to an account; no record is kept.")
            return
        found = await self.record(await self.services.people.identities(person.key), utcnow())
        kudos = ", ".join(f"#{c} {n}" for c, n in sorted(found["kudos"].items())) or "none"
        until = {n["rule"]: n["until"] for n in found["nominations"]}
        rules = (
            ", ".join(
                f"{rule} (nominated until {until[rule]})" if rule in until else rule
                for rule in found["rules_met"]
            )
            or "none yet"
        )
        await ctx.reply(
            f"{person.nick}: {found['meetings_attended']} meetings attended "
            f"({found['lines_said']} lines), {found['meetings_chaired']} chaired, "
            f"{found['action_items']} action items ({found['action_items_completed']} done); "
            f"kudos: {kudos}. Rules met: {rules}."
        )
