"""Plugin ``kudos``: credit for the work no code review records, above all operators who help
developers find root causes.

``!kudos WHO... [#category] [for] REASON`` and ``WHO++ [for REASON]`` give kudos; ``!kudos [WHO]``,
``!kudos top [CATEGORY] [PERIOD]``, ``!kudos recent`` and ``!kudos categories`` ask;
``!kudos undo`` takes back one's latest within minutes, ``!kudos revoke ID REASON`` is for bot
admins, ``!kudos optout``/``optin`` leave or rejoin the public leaderboards. Every kudos and every
change is kept (an audit trail) and announced to other plugins (``KudosGiven``,
``KudosWithdrawn``) for contribution records.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from opsbot.domain import ItemRecorded, KudosGiven, KudosWithdrawn, PeopleLinked
from opsbot.events import Edit, Identity, Message, Reaction, Redaction, Role, Room
from opsbot.plugin import Context, Plugin, PluginConfig, Rest, command, on, require, subscribe
from opsbot.storage import Storage

from .models import Kudos as KudosRow
from .parse import evidence_in, parse_request, pills, plus_plus
from .store import Key, KudosStore, forget_person, kudos_of
from .web import KudosSite

DEFAULT_CATEGORIES = {
    "general": "anything else worth a thank-you",
    "rootcause": "helped developers find the root cause of a bug",
    "review": "reviewed a proposal, spec or blueprint (e.g. flagged scaling or upgrade problems)",
    "bugreport": "reported or reproduced an operational bug",
    "docs": "wrote or fixed operations guides",
    "meetup": "organised or moderated a meetup or session",
    "mentoring": "helped someone learn the ropes",
}
_PERIOD = re.compile(r"^(?P<n>\d+)(?P<unit>[dwmy])$")
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
MESSAGES_KEPT = 5000
"""Recent messages remembered per process where people react, to credit their authors."""
QUIET_KEPT = 5
"""Refused reactions remembered per giver, told on ``!kudos recent``."""
SEEN_EVERY = 3600.0
"""Seconds between two writes of the same person's "last seen"."""


def plain_emoji(key: str) -> str:
    """An emoji as its plain code points: clients add variation selectors (U+FE0F) or not."""
    return key.replace("\ufe0f", "").strip()


class KudosConfig(PluginConfig):
    categories: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    """Name to a one-line description (``!kudos categories``)."""
    default_category: str = "general"
    window_hours: float = Field(default=24, gt=0)
    """One kudos per giver, receiver and category within this many hours."""
    daily_cap: int = Field(default=20, ge=1)
    """Kudos one person may give in 24 hours."""
    undo_minutes: float = Field(default=10, ge=0)
    require_account: dict[str, bool] = {}
    """Per network: givers and receivers must be identified to an account (default: yes)."""
    plus_plus: bool = True
    """Take ``nick++`` as kudos."""
    reactions: dict[str, str] = Field(
        default_factory=lambda: {
            "👏": "general",
            "🙏": "general",
            "🎉": "general",
            "\u2795": "general",
        }
    )
    """Reactions that are kudos to the author of the message reacted to, with the category each
    gives (``{}``: none). The message is the reason, its link the evidence; removing the
    reaction withdraws the kudos. The rules of ``!kudos`` apply; a refused reaction gets no
    answer in the room (the giver hears why, privately, on ``!kudos recent``)."""

    @field_validator("reactions")
    @classmethod
    def _plain_keys(cls, reactions: dict[str, str]) -> dict[str, str]:
        return {plain_emoji(key): category for key, category in reactions.items()}

    @model_validator(mode="after")
    def _known_categories(self) -> KudosConfig:
        unknown = sorted({c for c in self.reactions.values() if c not in self.categories})
        if unknown:
            raise ValueError(f"reactions give categories that are not listed: {unknown}")
        return self


class Kudos(Plugin):
    """Kudos for operators' work: root causes, reviews, bug reports, docs, meetups, mentoring."""

    web_paths = ("/kudos",)

    Config = KudosConfig
    config: KudosConfig

    async def setup(self) -> None:
        self.store = KudosStore(self.storage, timedelta(hours=self.config.window_hours))
        await self.store.start()
        self._seen_at: dict[tuple[str, str], float] = {}
        self._messages: OrderedDict[tuple[str, str], tuple[Identity, str]] = OrderedDict()
        """Recent messages people may react to: their author and text (a redacted one goes)."""
        self._quiet: dict[Key, deque[str]] = {}
        self._withdrawing: set[asyncio.Task[None]] = set()
        site = self.web
        if site is not None:
            KudosSite(
                self.store, self.config.categories, self.services.people.everyone_hidden, site
            )

    @classmethod
    async def personal_data(cls, storage: Storage, identities: list[Key]) -> dict[str, Any]:
        """Kudos given and received, withdrawn ones too, with their reasons and evidence."""
        given, received = await kudos_of(storage, identities)

        def plain(row: KudosRow) -> dict[str, Any]:
            return {
                "id": row.id, "time": row.ts.isoformat(), "category": row.category,
                "giver": f"{row.giver_network}:{row.giver_key}",
                "receiver": f"{row.receiver_network}:{row.receiver_key}",
                "reason": row.reason, "evidence": row.evidence, "state": row.state,
            }  # fmt: skip

        if not given and not received:
            return {}
        return {"given": [plain(r) for r in given], "received": [plain(r) for r in received]}

    @classmethod
    async def forget(cls, storage: Storage, identities: list[Key], pseudonym: str) -> None:
        await forget_person(storage, identities, pseudonym)

    async def serve_site(self) -> None:
        """Standing by: the leaderboards and kudos pages from the shared database."""
        site = self.web
        if site is not None:
            store = KudosStore(self.storage, timedelta(hours=self.config.window_hours))
            KudosSite(store, self.config.categories, self.services.people.everyone_hidden, site)

    async def teardown(self) -> None:
        await asyncio.gather(*self._withdrawing, return_exceptions=True)
        await self.store.stop()

    # who is who

    def _key(self, who: Identity) -> Key | None:
        """The identity credit is kept under; None where the network must prove an account."""
        if who.account is not None:
            return (who.network, who.account)
        if self.config.require_account.get(who.network, True):
            return None
        return (who.network, "~" + who.nick.casefold())

    async def _resolve(self, ctx: Context, name: str) -> Identity | None:
        msg = ctx.msg
        for text, user_id in pills(msg.html).items():
            if name in (text, user_id) or name == user_id[1:].split(":", 1)[0]:
                return Identity(ctx.network, user_id, user_id[1:].split(":", 1)[0], text)
        return await self._someone(ctx.room, name)

    async def _someone(self, room: Room, name: str) -> Identity | None:
        """Who ``name`` is: a member of the room, else someone seen speaking on its networks."""
        present = self.services.member(room, name)
        if present is not None:
            return present
        for network in self.services.networks_of(room):
            seen = await self.store.seen(network, name)
            if seen is not None:
                return Identity(network, seen.account, seen.display_nick)
        return None

    def _known(self, ctx: Context) -> Callable[[str], bool]:
        """Whether a name is someone here: pilled in the message, or a member of the room."""
        pilled = {name.casefold() for name in pills(ctx.msg.html)}

        def known(name: str) -> bool:
            return name.casefold() in pilled or ctx.services.member(ctx.room, name) is not None

        return known

    @on(Message)
    async def heard(self, ctx: Context) -> None:
        """Note who speaks (at most hourly per person), and take ``nick++``."""
        sender = ctx.sender
        marker = (sender.network, sender.nick.casefold())
        now = time.monotonic()
        if now - self._seen_at.get(marker, -SEEN_EVERY) >= SEEN_EVERY:
            self._seen_at[marker] = now
            self.store.note_seen(sender.network, sender.nick, sender.account, ctx.msg.ts)
        msg = ctx.msg
        if msg.id is not None and self.config.reactions and self._reactable(msg.network):
            self._messages[(msg.network, msg.id)] = (msg.sender, msg.text)
            if len(self._messages) > MESSAGES_KEPT:
                self._messages.popitem(last=False)
        if not self.config.plus_plus or "++" not in ctx.msg.text:
            return
        known = self._known(ctx)
        found = plus_plus(ctx.msg.text, known)
        if found is not None:
            targets, reason = found
            await self._give(ctx, targets, None, reason)

    def _reactable(self, network: str) -> bool:
        return self.services.capabilities(network).reactions

    # reactions

    @on(Reaction)
    async def reacted(self, ctx: Context) -> None:
        """A reaction of the configured set is a kudos to the author of the message."""
        event = ctx.event
        assert isinstance(event, Reaction)
        category = self.config_for(event.room).reactions.get(plain_emoji(event.key))
        if category is None or event.id is None:
            return
        target = self._messages.get((event.network, event.target_id))
        if target is None:
            self.log.debug("a reaction to a message not seen lately: %s", event.target_id)
            return
        author, text = target
        giver = self._key(event.sender)
        receiver = self._key(author)
        if giver is None or receiver is None:
            return  # unproven accounts: no kudos, and nothing to say
        config = self.config_for(event.room)
        mine = await self.services.people.one_person(giver)
        refused = await self._refusal(config, category, giver, mine, author, receiver, event.ts)
        if refused is not None:
            told = self._quiet.setdefault(giver, deque(maxlen=QUIET_KEPT))
            told.append(f"your {event.key} to {author.nick}: {refused[0]}")
            return
        evidence = (  # a Matrix event has a link anyone can follow; an IRC msgid has none
            [("matrix", f"https://matrix.to/#/{event.room.id}/{event.target_id}")]
            if event.room.id.startswith("!")
            else []
        )
        await self._record(
            event.room, event.ts, giver, event.sender.nick, author, receiver, category,
            text[:500], evidence, reaction_id=event.id,
        )  # fmt: skip

    @on(Edit)
    async def edited(self, ctx: Context) -> None:
        """A reaction after an edit gives the message as it reads now."""
        event = ctx.event
        assert isinstance(event, Edit)
        found = self._messages.get((event.network, event.target_id))
        if found is not None:
            self._messages[(event.network, event.target_id)] = (found[0], event.text)

    @on(Redaction)
    async def unreacted(self, ctx: Context) -> None:
        """A reaction that gave kudos, removed: the kudos is withdrawn. Looked up off the room's
        lane (a redaction must reach the meeting's log at once; most are not reactions)."""
        event = ctx.event
        assert isinstance(event, Redaction)
        # A redacted message is nobody's reason for a kudos from now on.
        self._messages.pop((event.network, event.target_id), None)
        if not self.config.reactions or not self._reactable(event.network):
            return
        task = asyncio.create_task(self._withdraw_reaction(event))
        self._withdrawing.add(task)
        task.add_done_callback(self._withdrawing.discard)

    async def _withdraw_reaction(self, event: Redaction) -> None:
        try:
            kudos_id = await self.store.by_reaction(event.target_id)
            if kudos_id is None:
                return
            actor = f"{event.network}:{event.sender.account or event.sender.nick}"
            row = await self.store.withdraw(kudos_id, "undone", actor, "reaction removed")
            if row is not None:
                await self.emit(KudosWithdrawn(kudos_id=row.id, how="undone"))
        except Exception:
            self.log.exception("could not withdraw the kudos of reaction %s", event.target_id)

    # giving

    async def _give(
        self, ctx: Context, names: list[str], category: str | None, reason: str
    ) -> None:
        config = self.config_for(ctx.room)
        category = category or config.default_category
        if category not in config.categories:
            known = ", ".join(f"#{name}" for name in config.categories)
            await ctx.reply(f"There is no #{category} category; try one of {known}.")
            return
        giver = self._key(ctx.sender)
        if giver is None:
            await ctx.reply(
                f"Kudos need you to be identified to an account on {ctx.sender.network}."
            )
            return
        now = ctx.msg.ts
        mine = await self.services.people.one_person(giver)
        credited: list[str] = []
        refusals: list[str] = []
        evidence = evidence_in(reason)
        for name in names:
            who = await self._resolve(ctx, name)
            if who is None:
                refusals.append(
                    f"I have not seen {name} here; check the spelling, or try once they have "
                    "spoken in a channel I am in."
                )
                continue
            receiver = self._key(who)
            if receiver is None:
                refusals.append(
                    f"{who.nick} is not identified to an account on {who.network}, so kudos "
                    "cannot be kept for them."
                )
                continue
            refused = await self._refusal(config, category, giver, mine, who, receiver, now)
            if refused is not None:
                refusals.append(refused[0])
                if refused[1]:
                    break
                continue
            await self._record(
                ctx.room, now, giver, ctx.sender.nick, who, receiver, category, reason,
                [(e.kind, e.ref) for e in evidence],
            )  # fmt: skip
            credited.append(who.nick)
        if credited:
            cited = (
                f" ({len(evidence)} evidence link{'s' * (len(evidence) != 1)})" if evidence else ""
            )
            await ctx.reply(f"Kudos to {', '.join(credited)} for #{category}{cited}.")
        for refusal in refusals[:2]:
            await ctx.reply(refusal)

    async def _refusal(
        self,
        config: KudosConfig,
        category: str,
        giver: Key,
        mine: frozenset[Key],
        who: Identity,
        receiver: Key,
        now: datetime,
    ) -> tuple[str, bool] | None:
        """Why this kudos may not be given, and whether the giver may give no more today; None
        when it may. The rules compare people (every linked identity), not accounts."""
        if receiver == giver:
            return "No kudos to yourself; someone else will notice.", False
        theirs = await self.services.people.one_person(receiver)
        if giver in theirs:
            await self._refused(giver, "kudos: to a linked account", receiver, category)
            return (
                f"No kudos to yourself: {who.nick} is linked to you; someone else will notice.",
                False,
            )
        last = max(
            (ts for g in mine for r in theirs if (ts := self.store.last_given(g, r, category))),
            default=None,
        )
        if last is not None and now - last < timedelta(hours=config.window_hours):
            if len(mine) > 1 or len(theirs) > 1:
                await self._refused(giver, "kudos: window, through a link", receiver, category)
            return (
                f"You already gave {who.nick} #{category} kudos in the last "
                f"{config.window_hours:g} h.",
                False,
            )
        if sum(self.store.given_today(g, now) for g in mine) >= config.daily_cap:
            if len(mine) > 1:
                await self._refused(giver, "kudos: daily cap, through a link", receiver, category)
            return f"You have given {config.daily_cap} kudos today, the daily limit.", True
        return None

    async def _record(
        self,
        room: Room,
        now: datetime,
        giver: Key,
        giver_nick: str,
        who: Identity,
        receiver: Key,
        category: str,
        reason: str,
        evidence: list[tuple[str, str]],
        reaction_id: str | None = None,
    ) -> None:
        given = self.store.give(
            ts=now,
            network=room.network,
            room=room.id,
            giver=giver,
            giver_nick=giver_nick,
            receiver=receiver,
            receiver_nick=who.nick,
            category=category,
            reason=reason,
            evidence=[{"kind": kind, "ref": ref} for kind, ref in evidence],
            reaction_id=reaction_id,
        )
        await self.emit(
            KudosGiven(
                ts=now,
                kudos_id=given.id,
                network=room.network,
                room=room.id,
                giver=giver,
                receiver=receiver,
                receiver_nick=who.nick,
                category=category,
                reason=reason,
                evidence=tuple(evidence),
            )
        )

    @subscribe(ItemRecorded)
    async def thanked(self, event: ItemRecorded) -> None:
        """``#thanks WHO [#category] [for] REASON`` in a meeting: a minute item (THANKS) and a
        kudos with its log line as evidence, as OpenStack's status bot took ``#thanks``."""
        if event.kind != "THANKS":
            return
        room = self.services.room(event.network, event.room)
        say = functools.partial(self.services.send, room, notice=True)
        if event.restricted:  # kudos are public: who thanked whom would tell of the meeting
            await say("The log of this meeting is restricted: #thanks is kept in the minutes only, "
                      "with no public kudos; say !kudos outside the meeting if you wish.")  # fmt: skip
            return
        giver_id = Identity(event.network, event.account, event.nick)
        giver = self._key(giver_id)
        if giver is None:
            await say(f"Kudos need you to be identified to an account on {event.network}.")
            return
        request = parse_request(
            event.text, lambda name: self.services.member(room, name) is not None
        )
        if not request.targets or not request.reason:
            await say("Say who and what for: #thanks WHO [for] REASON")
            return
        config = self.config_for(room)
        category = request.category or config.default_category
        if category not in config.categories:
            await say(f"There is no #{category} category.")
            return
        reason = request.reason
        evidence = [("meeting", event.link)] if event.link else []
        mine = await self.services.people.one_person(giver)
        credited: list[str] = []
        for name in request.targets:
            who = await self._someone(room, name)
            receiver = self._key(who) if who is not None else None
            if who is None or receiver is None:
                await say(f"I cannot keep kudos for {name}: not seen here with an account.")
                continue
            refused = await self._refusal(config, category, giver, mine, who, receiver, event.ts)
            if refused is not None:
                await say(refused[0])
                if refused[1]:
                    break
                continue
            await self._record(
                room, event.ts, giver, event.nick, who, receiver, category, reason, evidence
            )
            credited.append(who.nick)
        if credited:
            await say(f"Kudos to {', '.join(credited)} for #{category}.")

    @subscribe(PeopleLinked)
    async def linked(self, event: PeopleLinked) -> None:
        """Kudos given between identities now linked as one person stop counting (revoked,
        with an audit row): linking cannot launder kudos given to oneself beforehand."""
        for kudos_id in await self.store.between(event.identities):
            row = await self.store.withdraw(
                kudos_id,
                "revoked",
                "opsbot",
                f"giver and receiver linked as one person by {event.by}",
            )
            if row is not None:
                self.log.info("kudos %d revoked: its giver and receiver are one person", kudos_id)
                await self.emit(KudosWithdrawn(kudos_id=row.id, how="revoked"))

    async def _refused(self, giver: Key, action: str, receiver: Key, category: str) -> None:
        """Keep a refusal that took a linked account to try in the audit trail."""
        await self.services.audit.record(
            f"{giver[0]}:{giver[1]}", action, f"to {receiver[0]}:{receiver[1]} #{category}"
        )

    # the command

    @command(
        "kudos",
        usage="WHO... [#category] [for] REASON | [WHO]",
        help="Thank someone for their work, or see who has been thanked.",
    )
    async def kudos(self, ctx: Context, args: Rest | None = None) -> None:
        words = (args or "").split()
        if not words:
            await self._standing(ctx, ctx.sender)
            return
        known = self._known(ctx)
        request = parse_request(args or "", known)
        if not request.reason:
            if request.category is not None or len(request.targets) != 1:
                await ctx.reply("Say what for: !kudos WHO [#category] for REASON")
                return
            who = await self._resolve(ctx, request.targets[0])
            if who is None:
                await ctx.reply(f"I have not seen {request.targets[0]} here.")
                return
            await self._standing(ctx, who)
            return
        await self._give(ctx, list(request.targets), request.category, request.reason)

    async def _standing(self, ctx: Context, who: Identity) -> None:
        key = self._key(who)
        if key is None:
            await ctx.reply(f"{who.nick} is not identified to an account; no kudos are kept.")
            return
        standing = await self.store.standing(await self.services.people.identities(key))
        if not standing.total:
            await ctx.reply(f"{who.nick} has no kudos yet.")
            return
        by = ", ".join(
            f"#{c} {n}" for c, n in sorted(standing.by_category.items(), key=lambda x: -x[1])
        )
        latest = "; ".join(f'"{reason}" ({giver})' for _, reason, giver in standing.latest)
        await ctx.reply(f"{who.nick}: {standing.total} kudos ({by}). Latest: {latest}")

    @command(
        "kudos top",
        usage="[CATEGORY] [PERIOD]",
        help="Who has the most kudos (7d, 4w, 12m, 1y, all).",
    )
    async def top(self, ctx: Context, *words: str) -> None:
        config = self.config_for(ctx.room)
        category: str | None = None
        since: datetime | None = None
        for word in words:
            name = word.lstrip("#").lower()
            period = _PERIOD.match(word.lower())
            if name in config.categories:
                category = name
            elif period is not None:
                days = int(period.group("n")) * _UNIT_DAYS[period.group("unit")]
                since = ctx.msg.ts - timedelta(days=days)
            elif word.lower() != "all":
                await ctx.reply(
                    f"{word!r} is neither a category nor a period (7d, 4w, 12m, 1y, all)."
                )
                return
        top = await self.store.top(category, since, list(config.categories))
        what = f"#{category} " if category else ""
        when = f" since {since:%Y-%m-%d}" if since else ""
        if not top:
            await ctx.reply(f"No {what}kudos{when} yet.")
            return
        listed = ", ".join(f"{r.nick} ({r.count})" for r in top)
        await ctx.reply(f"Most {what}kudos{when}: {listed}")

    @command("kudos recent", usage="", help="The latest kudos given.")
    async def recent(self, ctx: Context, *words: str) -> None:
        giver = self._key(ctx.sender)
        quiet = self._quiet.pop(giver, None) if giver is not None else None
        if quiet:
            await ctx.reply_private("Reactions of yours not counted: " + "; ".join(quiet))
        rows = await self.store.recent()
        if not rows:
            await ctx.reply("No kudos yet.")
            return
        listed = "; ".join(
            f"({r.id}) {r.giver_nick} → {r.receiver_nick} #{r.category}: {r.reason}" for r in rows
        )
        await ctx.reply(f"Recent kudos: {listed}")

    @command("kudos categories", usage="", help="The kudos categories and what each is for.")
    async def categories(self, ctx: Context, *words: str) -> None:
        config = self.config_for(ctx.room)
        listed = "; ".join(f"#{name}: {text}" for name, text in config.categories.items())
        await ctx.reply(f"Kudos categories (default #{config.default_category}): {listed}")

    @command("kudos undo", usage="", help="Take back the kudos you just gave.")
    async def undo(self, ctx: Context, *words: str) -> None:
        giver = self._key(ctx.sender)
        latest = self.store.latest_by(giver) if giver is not None else None
        limit = timedelta(minutes=self.config_for(ctx.room).undo_minutes)
        if latest is None or ctx.msg.ts - latest.ts > limit:
            await ctx.reply(
                f"You have no kudos from the last {limit.seconds // 60} minutes to undo."
            )
            return
        actor = f"{giver[0]}:{giver[1]}" if giver else ctx.sender.nick
        row = await self.store.withdraw(latest.id, "undone", actor, "undone by the giver")
        if row is None:
            await ctx.reply("That kudos was already withdrawn.")
            return
        await self.emit(KudosWithdrawn(kudos_id=row.id, how="undone"))
        await ctx.reply(f"Undone: your kudos to {row.receiver_nick} for #{row.category}.")

    @command("kudos revoke", usage="ID REASON", help="Withdraw a kudos that should not stand.")
    @require(Role.BOT_ADMIN, refusal="Only bot admins can revoke kudos.")
    async def revoke(self, ctx: Context, *words: str) -> None:
        if len(words) < 2 or not words[0].lstrip("#").isdigit():
            await ctx.reply("Usage: !kudos revoke ID REASON")
            return
        kudos_id = int(words[0].lstrip("#"))
        actor = f"{ctx.sender.network}:{ctx.sender.account or ctx.sender.nick}"
        row = await self.store.withdraw(kudos_id, "revoked", actor, " ".join(words[1:]))
        if row is None:
            await ctx.reply(f"There is no standing kudos {kudos_id}.")
            return
        await self.emit(KudosWithdrawn(kudos_id=row.id, how="revoked"))
        await ctx.reply(f"Revoked kudos {kudos_id} ({row.giver_nick} → {row.receiver_nick}).")

    @command("kudos optout", usage="", help="Leave the kudos leaderboards (kudos still count).")
    async def opt_out(self, ctx: Context, *words: str) -> None:
        await self._set_opt_out(ctx, True)

    @command("kudos optin", usage="", help="Be shown on the kudos leaderboards again.")
    async def opt_in(self, ctx: Context, *words: str) -> None:
        await self._set_opt_out(ctx, False)

    async def _set_opt_out(self, ctx: Context, out: bool) -> None:
        key = self._key(ctx.sender)
        if key is None:
            await ctx.reply("Identify to an account first; opt-outs are kept per account.")
            return
        await self.services.leave_public_pages(key, out)
        if out:
            await ctx.reply("You are left out of public leaderboards; !kudos optin undoes it.")
        else:
            await ctx.reply("You are back on the public leaderboards.")
