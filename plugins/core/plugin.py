"""The core plugin: help, ping, version, the list of plugins, and admin-only join and part."""

from __future__ import annotations

import functools
import json
import platform
import time
from typing import TYPE_CHECKING
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import delete, select

from opsbot.domain import LeaderboardOptOut, PeopleLinked
from opsbot.events import Connected, Role
from opsbot.linkcodes import WRONG_PER_ACCOUNT, LinkCodes, Outcome
from opsbot.people import HIDDEN, LEADERBOARDS
from opsbot.personal import Downloads
from opsbot.plugin import Context, Plugin, Rest, command, on, rate, require
from opsbot.rules import CommandInfo
from opsbot.text import shorten
from opsbot.transports import TransportError

from .models import JoinedRoom

if TYPE_CHECKING:
    from aiohttp import web

LOCKED_TOLD_EVERY = 60.0
"""Seconds between two answers to an account locked out of !link CODE."""


@functools.cache
def opsbot_version() -> str:
    try:
        return version("opsbot")
    except PackageNotFoundError:
        return "unknown"


class Core(Plugin):
    """Help, ping, version and plugin list; bot admins make the bot join and leave rooms."""

    web_paths = ("/mydata",)

    async def setup(self) -> None:
        self._told_locked: dict[tuple[str, str], float] = {}
        self._downloads = Downloads(self.storage)
        self._forget_codes = LinkCodes()
        self._serve_downloads()

    async def serve_site(self) -> None:
        self._downloads = Downloads(self.storage)
        self._serve_downloads()

    def _serve_downloads(self) -> None:
        site = self.web
        if site is not None:
            site.add("/mydata/{token}", self._download)

    async def _download(self, request: web.Request) -> web.Response:
        from aiohttp import web

        found = await self._downloads.get(request.match_info["token"])
        if found is None:
            raise web.HTTPNotFound(reason="This link is unknown or older than an hour")
        return web.json_response(
            found,
            dumps=functools.partial(json.dumps, ensure_ascii=False, indent=1),
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    # what opsbot keeps about you

    @command("mydata", help="Everything opsbot keeps about you, as a private link (JSON).")
    async def mydata(self, ctx: Context) -> None:
        me = ctx.sender
        if me.key is None:
            await ctx.reply(f"Identify to an account on {me.network} first; data is kept per account.")
            return
        site = self.web
        if site is None:
            await ctx.reply_private(
                "This bot's web site is off, so I cannot give you a link; a bot admin can give "
                f"you the same with: opsbot people export {me.network}:{me.account}"
            )
        else:
            token = await self._downloads.put(await self.services.personal_data(me.key))
            await ctx.reply_private(
                "Everything opsbot keeps about you (JSON), for an hour: "
                + site.url(f"/mydata/{token}")
            )
        if not ctx.room.is_direct:
            await ctx.reply("I sent it to you privately.")

    @command(
        "forget",
        usage="me [CODE]",
        help="Have opsbot forget you: your name replaced by a pseudonym, the public minutes kept.",
    )
    async def forget_me(self, ctx: Context, who: str | None = None, code: str | None = None) -> None:
        me = ctx.sender
        prefix = ctx.prefix
        if (who or "").casefold() != "me":
            await ctx.reply(f"Say {prefix}forget me: opsbot forgets only the person asking.")
            return
        if me.key is None:
            await ctx.reply(f"Identify to an account on {me.network} first; data is kept per account.")
            return
        if code is None:
            made = self._forget_codes.new(me.key)
            await ctx.reply_private(
                "This removes your links between accounts, your preferences, the reasons of "
                "kudos you gave and received, and puts a pseudonym where your name stands in "
                "counts, records and public pages; the meetings' minutes stay as they are. It "
                f"cannot be undone. To go on, say '{prefix}forget me {made}' within 10 minutes."
            )
            if not ctx.room.is_direct:
                await ctx.reply("I sent you what it does, and a code to confirm, privately.")
            return
        redeemed = self._forget_codes.redeem(code, me.key, own=True)
        if redeemed.outcome is not Outcome.LINKED or redeemed.owner != me.key:
            await ctx.reply(
                f"That code is not the one I sent you, or it expired; ask again with {prefix}forget me."
            )
            return
        pseudonym = await self.services.forget(me.key, by="the person")
        await ctx.reply(f"Done: you are {pseudonym} in what opsbot keeps now.")

    @command("optout", help="Leave the public pages and leaderboards (every plugin's).")
    async def optout(self, ctx: Context) -> None:
        await self._leave_public_pages(ctx, True)

    @command("optin", help="Be shown on the public pages and leaderboards again.")
    async def optin(self, ctx: Context) -> None:
        await self._leave_public_pages(ctx, False)

    async def _leave_public_pages(self, ctx: Context, out: bool) -> None:
        key = ctx.sender.key
        if key is None:
            await ctx.reply("Identify to an account first; opt-outs are kept per account.")
            return
        await self.services.leave_public_pages(key, out)
        if out:
            await ctx.reply(
                f"You are left out of public pages and leaderboards; {ctx.prefix}optin undoes it."
            )
        else:
            await ctx.reply("You are back on the public pages and leaderboards.")

    def _prefix(self, ctx: Context) -> str:
        return ctx.prefix

    @staticmethod
    def _describe(found: CommandInfo, prefix: str) -> str:
        spec = found.rules.command
        assert spec is not None
        line = f"{prefix}{spec.name} {found.usage}".rstrip()
        if spec.help:
            line += f" — {spec.help}"
        extras = []
        if spec.aliases:
            parent = f"{spec.parent} " if spec.parent else ""
            extras.append("also " + ", ".join(prefix + parent + a for a in spec.aliases))
        if found.rules.role > Role.NONE:
            extras.append(f"needs {found.rules.role.label}")
        if found.rules.account:
            extras.append("needs an identified account")
        return line + (f" ({'; '.join(extras)})" if extras else "")

    @command("help", usage="[COMMAND [SUBCOMMAND]|PLUGIN]", help="List commands, or explain one.")
    async def help(self, ctx: Context, topic: Rest | None = None) -> None:
        prefix = self._prefix(ctx)
        if not topic:
            commands = self.services.commands()
            names: dict[str, str] = {}
            for each in commands:
                spec = each.rules.command
                assert spec is not None
                if spec.parent is not None:
                    names.setdefault(spec.parent, "")
                else:
                    names[spec.name] = "*" if each.rules.role > Role.NONE else ""
            listed = ", ".join(f"{name}{mark}" for name, mark in sorted(names.items()))
            await ctx.reply(
                f"Commands: {listed} (* needs a role). Say {prefix}help COMMAND for its usage."
            )
            return
        name = " ".join(topic.split()).removeprefix(prefix).lstrip("#").lower()
        found = self.services.command(name)
        subs = self.services.subcommands(name)
        if found is not None or subs:
            lines = [self._describe(found, prefix)] if found is not None else []
            lines += [self._describe(sub, prefix) for sub in subs]
            await ctx.reply(" | ".join(lines))
            return
        told = self.services.help_topic(name, prefix)
        if told is not None:
            await ctx.reply(told)
            return
        described = dict(self.services.plugins_described())
        if name in described:
            commands = self.services.commands()
            own = sorted(
                {
                    (c.rules.command.parent or c.rules.command.name)
                    for c in commands
                    if c.plugin == name and c.rules.command
                }
            )
            listed = ", ".join(prefix + word for word in own) or "no commands"
            await ctx.reply(f"{name}: {described[name]} Commands: {listed}.")
            return
        await ctx.reply(
            f"No command or plugin called {shorten(topic.strip())!r}. "
            f"{prefix}help lists them all."
        )

    @command("ping", help="Check that the bot is alive.")
    @rate(user=2)
    async def ping(self, ctx: Context) -> None:
        await ctx.reply("pong")

    @command("version", help="Which opsbot this is.")
    async def version(self, ctx: Context) -> None:
        await ctx.reply(f"opsbot {opsbot_version()} on Python {platform.python_version()}")

    @command("plugins", help="The plugins loaded.")
    async def plugins(self, ctx: Context) -> None:
        listed = "; ".join(
            f"{name} ({description})" for name, description in self.services.plugins_described()
        )
        await ctx.reply(f"Plugins: {listed}")

    @command("join", usage="ROOM [KEY]", help="Join a room, and rejoin it after restarts.")
    @require(Role.BOT_ADMIN)
    async def join(self, ctx: Context, room: str, key: str | None = None) -> None:
        try:
            joined = await self.services.join(ctx.network, room, key)
        except TransportError as why:
            await ctx.reply(f"Cannot join {shorten(room)}: {shorten(str(why), 200)}")
            return
        async with self.storage.session() as session, session.begin():
            await session.merge(
                JoinedRoom(
                    network=ctx.network,
                    room=joined.id,
                    key=key,
                    joined_by=ctx.sender.account or ctx.sender.nick,
                    joined_at=ctx.msg.ts,
                )
            )
        await ctx.reply(f"Joined {joined}.")

    @command("part", usage="[ROOM] [REASON...]", help="Leave a room (this one by default).")
    @require(Role.BOT_ADMIN)
    async def part(self, ctx: Context, room: str | None = None, reason: Rest | None = None) -> None:
        target = self.services.room(ctx.network, room) if room else ctx.room
        try:
            await self.services.part(target, reason)
        except TransportError as why:
            await ctx.reply(f"Cannot leave {shorten(str(target))}: {shorten(str(why), 200)}")
            return
        async with self.storage.session() as session, session.begin():
            await session.execute(
                delete(JoinedRoom).where(
                    JoinedRoom.network == ctx.network, JoinedRoom.room == target.id
                )
            )
        if target != ctx.room:
            await ctx.reply(f"Left {target}.")

    @on(Connected)
    async def rejoin(self, ctx: Context) -> None:
        """After (re)connecting, join the rooms admins asked for at runtime."""
        network = ctx.event.network
        async with self.storage.session() as session:
            rows = (
                await session.scalars(select(JoinedRoom).where(JoinedRoom.network == network))
            ).all()
        present = {room.id for room in self.services.rooms(network)}
        for row in rows:
            if row.room in present:
                continue
            try:
                await self.services.join(network, row.room, row.key)
            except TransportError as why:
                self.log.warning("cannot rejoin %s on %s: %s", row.room, network, why)

    # linked identities

    @command("link", usage="[CODE]", help="Link your accounts on two networks (one person).")
    async def link(self, ctx: Context, code: str | None = None) -> None:
        me = ctx.sender
        if me.key is None:
            await ctx.reply(f"Identify to an account on {me.network} first; links join accounts.")
            return
        people = self.services.people
        prefix = self._prefix(ctx)
        if code is None:
            made = people.codes.new(me.key)
            await ctx.reply_private(
                f"Say '{prefix}link {made}' from your account on the other network "
                "within 10 minutes."
            )
            if not ctx.room.is_direct:
                await ctx.reply("I sent you a one-time code privately.")
            return
        redeemed = people.codes.redeem(code, me.key)
        who = f"{me.network}:{me.account}"
        match redeemed.outcome:
            case Outcome.LINKED:
                other = redeemed.owner
                assert other is not None
                if other == me.key:
                    await ctx.reply("Say the code from your other account, not this one.")
                    return
                await people.link(other, me.key, by=who)
                await ctx.reply(f"Linked {other[0]}:{other[1]} and {who}.")
                person = await people.one_person(me.key)
                await self.emit(PeopleLinked(identities=tuple(sorted(person)), by=who))
            case Outcome.UNKNOWN:
                await ctx.reply(
                    f"That code is unknown or has expired; ask for a new one with {prefix}link."
                )
                await self.services.audit.record(who, "link: wrong code", f"said {code[:40]!r}")
            case Outcome.VOID:
                await ctx.reply(
                    "That code was made void after too many wrong tries while it waited; ask "
                    f"for a new one with {prefix}link."
                )
            case Outcome.JUST_LOCKED:
                self._told_locked[me.key] = time.monotonic()
                minutes = round(redeemed.wait_seconds / 60)
                await ctx.reply(
                    f"Too many wrong codes: {prefix}link CODE is refused to you for {minutes} "
                    "minutes."
                )
                told = (
                    f"{who} said {WRONG_PER_ACCOUNT} wrong link codes within 10 minutes; "
                    f"refused for {minutes} minutes."
                )
                self.log.warning("%s", told)
                await self.services.audit.record(who, "link: locked out", told)
                await self.services.tell_admins(told)
            case Outcome.LOCKED:
                now = time.monotonic()
                if now - self._told_locked.get(me.key, float("-inf")) < LOCKED_TOLD_EVERY:
                    return  # a flood of tries gets one answer a minute, not one each
                self._told_locked[me.key] = now
                await ctx.reply(
                    f"Too many wrong codes lately; try again in "
                    f"{max(1, round(redeemed.wait_seconds / 60))} minutes."
                )

    @command("whois", usage="[WHO]", help="Someone's accounts on every network, as linked.")
    async def whois(self, ctx: Context, who: str | None = None) -> None:
        person = ctx.sender if who is None else ctx.services.member(ctx.room, who)
        if person is None:
            await ctx.reply(f"{who} is not here.")
            return
        if person.key is None:
            await ctx.reply(f"{person.nick} is not identified to an account on {person.network}.")
            return
        keys = await self.services.people.identities(person.key)
        listed = ", ".join(f"{network}:{account}" for network, account in keys)
        answer = f"{person.nick} is {listed}."
        if len(self.services.networks_of(ctx.room)) > 1:
            used = self.services.sides_used(ctx.room, keys)
            sides = " and ".join(used) if used else "neither side yet"
            answer += f" In this bridged room: heard on {sides}."
        await ctx.reply(answer)
