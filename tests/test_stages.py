"""The inbound and outbound stages of a real bot on memory networks: the bot's own echo is its
own, a step can drop or change what passes, and everything said is formatted on the way out."""

from __future__ import annotations

import dataclasses

from opsbot.events import Event, Message
from opsbot.plugin import Context, Plugin, command, on
from opsbot.stages import Outgoing
from opsbot.testing import BotFactory


class Seen(Plugin):
    """Records lines, and says a long one on request."""

    async def setup(self) -> None:
        self.lines: list[tuple[str, bool]] = []

    @on(Message, own=True)
    async def line(self, ctx: Context) -> None:
        self.lines.append((ctx.msg.text, ctx.msg.own))

    @command("long")
    async def long(self, ctx: Context) -> None:
        await ctx.reply("x" * 5000)


async def test_the_networks_echo_of_the_bot_is_its_own_and_never_a_command(
    bot_factory: BotFactory,
) -> None:
    bot = await bot_factory(plugins=["core"], extra={"seen": Seen})
    seen = bot.bot.plugins["seen"]
    assert isinstance(seen, Seen)
    irc = bot.irc.transport
    await irc.deliver(
        Message(network="irc", room=irc.room(irc.default_room_id), sender=irc.me, text="!ping")
    )
    assert await bot.irc.settle() == [], "the bot's own !ping runs nothing"
    assert ("!ping", True) in seen.lines


async def test_steps_drop_and_change_what_passes(bot_factory: BotFactory) -> None:
    bot = await bot_factory(plugins=["core"], extra={"seen": Seen})

    def no_mallory(event: Event) -> Event | None:
        if isinstance(event, Message) and event.sender.nick == "mallory":
            return None
        return event

    def shout(out: Outgoing) -> Outgoing:
        return dataclasses.replace(out, text=out.text.upper())

    bot.bot.inbound.add(no_mallory)
    bot.bot.outbound.append(shout)
    assert await bot.irc.say("mallory", "!ping") == []
    assert await bot.irc.say("alice", "!ping") == ["PONG"]


async def test_formatting_cuts_what_no_room_should_get(bot_factory: BotFactory) -> None:
    bot = await bot_factory(plugins=["core"], extra={"seen": Seen})
    said = await bot.irc.say("alice", "!long")
    assert len(said) == 1 and len(said[0]) <= 1500 and said[0].endswith("characters cut)")
