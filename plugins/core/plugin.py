"""The core plugin: help, ping, version, the list of plugins, and admin-only join and part."""

from __future__ import annotations

import functools
import platform
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import delete, select

from opsbot.text import shorten
from opsbot.events import Connected, Role
from opsbot.plugin import Context, Plugin, Rest, command, on, rate, require
from opsbot.router import BoundHandler
from opsbot.transports import TransportError

from .models import JoinedRoom


@functools.cache
def opsbot_version() -> str:
    try:
        return version("opsbot")
    except PackageNotFoundError:
        return "unknown"


class Core(Plugin):
    """Help, ping, version and plugin list; bot admins make the bot join and leave rooms."""

    def _prefix(self, ctx: Context) -> str:
        return self.bot.prefix_for(ctx.transport.name)

    def _describe(self, handler: BoundHandler, prefix: str) -> str:
        spec = handler.rules.command
        assert spec is not None
        line = f"{prefix}{spec.name} {handler.usage}".rstrip()
        if spec.help:
            line += f" — {spec.help}"
        extras = []
        if spec.aliases:
            extras.append("also " + ", ".join(prefix + a for a in spec.aliases))
        if handler.rules.role > Role.NONE:
            extras.append(f"needs {handler.rules.role.label}")
        if handler.rules.account:
            extras.append("needs an identified account")
        return line + (f" ({'; '.join(extras)})" if extras else "")

    @command("help", usage="[COMMAND|PLUGIN]", help="List commands, or explain one.")
    async def help(self, ctx: Context, topic: str | None = None) -> None:
        prefix = self._prefix(ctx)
        router = self.bot.router
        if topic is None:
            names = []
            for handler in router.handlers():
                spec = handler.rules.command
                assert spec is not None
                mark = "*" if handler.rules.role > Role.NONE else ""
                names.append(f"{spec.name}{mark}")
            await ctx.reply(
                f"Commands: {', '.join(names)} (* needs a role). "
                f"Say {prefix}help COMMAND for its usage."
            )
            return
        name = topic.removeprefix(prefix).lstrip("#").lower()
        found = router.commands.get(name)
        if found is not None:
            await ctx.reply(self._describe(found, prefix))
            return
        for candidate in self.bot.plugins.values():
            told = candidate.help_topic(name, prefix)
            if told is not None:
                await ctx.reply(told)
                return
        plugin = self.bot.plugins.get(name)
        if plugin is not None:
            own = [h.rules.command for h in router.handlers() if h.plugin is plugin]
            listed = ", ".join(prefix + spec.name for spec in own if spec) or "no commands"
            await ctx.reply(f"{name}: {plugin.description()} Commands: {listed}.")
            return
        await ctx.reply(
            f"No command or plugin called {shorten(topic)!r}. {prefix}help lists them all."
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
        listed = "; ".join(f"{name} ({p.description()})" for name, p in self.bot.plugins.items())
        await ctx.reply(f"Plugins: {listed}")

    @command("join", usage="ROOM [KEY]", help="Join a room, and rejoin it after restarts.")
    @require(Role.BOT_ADMIN)
    async def join(self, ctx: Context, room: str, key: str | None = None) -> None:
        try:
            joined = await ctx.transport.join(room, key)
        except TransportError as why:
            await ctx.reply(f"Cannot join {shorten(room)}: {shorten(str(why), 200)}")
            return
        async with self.storage.session() as session, session.begin():
            await session.merge(
                JoinedRoom(
                    network=ctx.transport.name,
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
        target = ctx.transport.room(room) if room else ctx.room
        try:
            await ctx.transport.part(target, reason)
        except TransportError as why:
            await ctx.reply(f"Cannot leave {shorten(str(target))}: {shorten(str(why), 200)}")
            return
        async with self.storage.session() as session, session.begin():
            await session.execute(
                delete(JoinedRoom).where(
                    JoinedRoom.network == ctx.transport.name, JoinedRoom.room == target.id
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
        present = {room.id for room in ctx.transport.rooms()}
        for row in rows:
            if row.room in present:
                continue
            try:
                await ctx.transport.join(row.room, row.key)
            except TransportError as why:
                self.log.warning("cannot rejoin %s on %s: %s", row.room, network, why)

    # linked identities

    @command("link", usage="[CODE]", help="Link your accounts on two networks (one person).")
    async def link(self, ctx: Context, code: str | None = None) -> None:
        me = ctx.sender
        if me.key is None:
            await ctx.reply(f"Identify to an account on {me.network} first; links join accounts.")
            return
        if code is None:
            made = self.bot.people.new_code(me.key)
            await ctx.reply_private(
                f"Say '{self._prefix(ctx)}link {made}' from your account on the other network "
                "within 10 minutes."
            )
            if not ctx.room.is_direct:
                await ctx.reply("I sent you a one-time code privately.")
            return
        other = self.bot.people.redeem(code)
        if other is None:
            await ctx.reply("That code is unknown or has expired; ask for a new one with !link.")
            return
        if other == me.key:
            await ctx.reply("Say the code from your other account, not this one.")
            return
        await self.bot.people.link(other, me.key, by=f"{me.network}:{me.account}")
        await ctx.reply(f"Linked {other[0]}:{other[1]} and {me.network}:{me.account}.")

    @command("whois", usage="[WHO]", help="Someone's accounts on every network, as linked.")
    async def whois(self, ctx: Context, who: str | None = None) -> None:
        person = ctx.sender if who is None else ctx.transport.member(ctx.room, who)
        if person is None:
            await ctx.reply(f"{who} is not here.")
            return
        if person.key is None:
            await ctx.reply(f"{person.nick} is not identified to an account on {person.network}.")
            return
        keys = await self.bot.people.identities(person.key)
        listed = ", ".join(f"{network}:{account}" for network, account in keys)
        await ctx.reply(f"{person.nick} is {listed}.")
