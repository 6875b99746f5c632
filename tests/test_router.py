"""Routing over a real bot on memory networks, with a plugin written for these tests."""

from __future__ import annotations

import logging
import re

import pytest

from opsbot.config import ConfigError
from opsbot.events import Identity, Join, Message, Role
from opsbot.plugin import (
    Context,
    Plugin,
    PluginConfig,
    Rest,
    command,
    match,
    on,
    rate,
    require,
    require_account,
)
from opsbot.testing import BotFactory, TestBot


class Recorder(Plugin):
    """Records what it sees, for tests."""

    class Config(PluginConfig):
        greeting: str = "hello"

    config: Config

    async def setup(self) -> None:
        self.seen: list[str] = []
        self.own: list[str] = []
        self.joins: list[str] = []

    @on(Message)
    async def every_line(self, ctx: Context) -> None:
        self.seen.append(ctx.msg.text)

    @on(Message, own=True)
    async def log_with_own(self, ctx: Context) -> None:
        self.own.append(f"{ctx.msg.sender.nick}: {ctx.msg.text}")

    @on(Join)
    async def joined(self, ctx: Context) -> None:
        assert isinstance(ctx.event, Join)
        self.joins.append(ctx.event.who.nick)

    @match(r"^(?P<who>[\w\[\]`^{}|.-]+)\+\+(?:\s+for\s+(?P<reason>.+))?$")
    async def plusplus(self, ctx: Context, who: Identity, reason: str | None) -> None:
        await ctx.reply(f"{who.nick} ({who.account}) thanked for {reason or 'nothing said'}")

    @command("greet", help="Say the greeting configured for this room.")
    async def greet(self, ctx: Context) -> None:
        config = ctx.config
        assert isinstance(config, Recorder.Config)
        await ctx.reply(config.greeting)

    @command("add", aliases=["sum"], help="Add numbers.")
    async def add(self, ctx: Context, first: int, second: int, *more: int) -> None:
        await ctx.reply(str(first + second + sum(more)))

    @command("echo", usage="WORD [TEXT...]")
    async def echo(self, ctx: Context, word: str, text: Rest | None = None) -> None:
        await ctx.reply(f"{word}|{text}")

    @command("thank")
    @require_account
    async def thank(self, ctx: Context, who: Identity, reason: Rest) -> None:
        await ctx.reply(f"{ctx.sender.nick} thanks {who.nick} for {reason}")

    @command("topic")
    @require(Role.OP)
    async def topic(self, ctx: Context, text: Rest) -> None:
        await ctx.reply(f"topic: {text}")

    @command("slow")
    @rate(room=60)
    async def slow(self, ctx: Context) -> None:
        await ctx.reply("done")

    @command("boom")
    async def boom(self, ctx: Context) -> None:
        raise RuntimeError("kaboom")


class Broken(Plugin):
    """A plugin whose passive handler always fails."""

    @on(Message)
    async def fail(self, ctx: Context) -> None:
        raise ValueError("broken log")


@pytest.fixture
async def rbot(bot_factory: BotFactory) -> TestBot:
    return await bot_factory(
        extra={"recorder": Recorder},
        config={"plugins": {"recorder": {"rooms": {"irc:#fr": {"greeting": "bonjour"}}}}},
    )


def recorder(bot: TestBot) -> Recorder:
    plugin = bot.bot.plugins["recorder"]
    assert isinstance(plugin, Recorder)
    return plugin


async def test_passive_handlers_see_every_line_and_commands(rbot: TestBot) -> None:
    await rbot.irc.say("alice", "good morning")
    await rbot.irc.say("alice", "!ping")
    assert recorder(rbot).seen == ["good morning", "!ping"]


async def test_own_messages_reach_only_handlers_that_ask(rbot: TestBot) -> None:
    await rbot.irc.say("alice", "!ping")
    assert recorder(rbot).own == ["alice: !ping", "opsbot: pong"]
    assert "pong" not in recorder(rbot).seen


async def test_lines_of_one_room_are_handled_in_order(rbot: TestBot) -> None:
    for i in range(500):
        await rbot.irc.transport.say(f"user{i % 7}", f"line {i}")
    await rbot.irc.settle()
    assert recorder(rbot).seen == [f"line {i}" for i in range(500)]


async def test_join_events_reach_on_handlers(rbot: TestBot) -> None:
    await rbot.irc.transport.user_joins("dave")
    await rbot.irc.settle()
    assert recorder(rbot).joins == ["dave"]


async def test_unknown_command_gets_a_hint(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!gret") == [
        "Unknown command !gret. Did you mean !greet? Try !help for the list."
    ]
    assert await rbot.irc.say("alice", "!xyzzy") == [
        "Unknown command !xyzzy. Try !help for the list."
    ]


async def test_unknown_command_hint_can_be_turned_off(bot_factory: BotFactory) -> None:
    bot = await bot_factory(config={"bot": {"reply_unknown_command": False}})
    assert await bot.irc.say("alice", "!xyzzy") == []


async def test_things_that_are_not_commands(rbot: TestBot) -> None:
    for text in ["!", "!!", "!!!ping", "! ping", "!1", "wow!", "ping", "opsbotping", "!ping!"]:
        assert await rbot.irc.say("alice", text) == [], text
    assert await rbot.irc.say("alice", "!ping", action=True) == []


async def test_arguments_are_converted_or_usage_is_shown(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!add 1 2") == ["3"]
    assert await rbot.irc.say("bob", "!sum 1 2 3 4") == ["10"]
    assert await rbot.irc.say("carol", "!add 1") == [
        "second is missing. Usage: !add FIRST SECOND [MORE...]"
    ]
    assert await rbot.irc.say("dave", "!add one 2") == [
        "'one' is not a whole number. Usage: !add FIRST SECOND [MORE...]"
    ]


async def test_quoted_words_and_raw_rest(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", '!echo "two words" and bob\'s "quote') == [
        "two words|and bob's \"quote"
    ]
    assert await rbot.irc.say("alice", "!echo one") == ["one|None"]
    assert await rbot.irc.say("alice", "!echo don't stop") == ["don't|stop"]
    assert await rbot.irc.say("alice", "!echo") == ["word is missing. Usage: !echo WORD [TEXT...]"]


async def test_too_many_arguments(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!greet loudly") == [
        "too many arguments ('loudly' left over). Usage: !greet"
    ]


async def test_identity_arguments_resolve_people_seen_in_the_room(rbot: TestBot) -> None:
    await rbot.irc.transport.user_joins("Bob_[away]", account="bobacct")
    assert await rbot.irc.say("alice", "!thank bob_[AWAY] for the root cause") == [
        "alice thanks Bob_[away] for for the root cause"
    ]
    assert await rbot.irc.say("alice", "!thank @Bob_[away]: great") == [
        "alice thanks Bob_[away] for great"
    ]
    assert await rbot.irc.say("alice", "!thank nobody for x") == [
        "I have not seen nobody in #test. Usage: !thank WHO REASON..."
    ]


async def test_matrix_ids_resolve_too(rbot: TestBot) -> None:
    await rbot.matrix.transport.user_joins("bob")
    assert await rbot.matrix.say("alice", "!thank @bob:example.org triage") == [
        "alice thanks bob for triage"
    ]


async def test_require_account_refuses_unidentified_people(rbot: TestBot) -> None:
    await rbot.irc.transport.user_joins("bob")
    assert await rbot.irc.say("alice", "!thank bob x", account=None) == [
        "!thank needs you to be identified to an account on irc."
    ]


async def test_require_role(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!topic new") == ["!topic needs op rights here."]
    rbot.irc.transport.set_role("alice", Role.OP)
    assert await rbot.irc.say("alice", "!topic new") == ["topic: new"]
    rbot.irc.transport.set_role("bob", Role.VOICE)
    assert await rbot.irc.say("bob", "!topic new") == ["!topic needs op rights here."]
    assert await rbot.irc.say("admin", "!topic admins may") == ["topic: admins may"]


async def test_rate_limit_per_room(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!slow") == ["done"]
    [refusal] = await rbot.irc.say("bob", "!slow")
    assert refusal in {
        "Please wait 60 s before using !slow again.",
        "Please wait 59 s before using !slow again.",
    }
    assert await rbot.irc.say("bob", "!slow", room="#other") == ["done"]


async def test_wrong_usage_does_not_use_up_the_rate(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!slow extra") == [
        "too many arguments ('extra' left over). Usage: !slow"
    ]
    assert await rbot.irc.say("alice", "!slow") == ["done"]


async def test_a_failing_command_apologises_and_the_bot_lives_on(
    rbot: TestBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="opsbot.router"):
        [apology] = await rbot.irc.say("alice", "!boom")
    assert apology.startswith("Sorry, !boom failed (logged as error ")
    ref = apology.removeprefix("Sorry, !boom failed (logged as error ").removesuffix(").")
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.exc_info is not None and "kaboom" in str(record.exc_info[1])
    assert "Traceback" not in apology and "kaboom" not in apology
    assert await rbot.irc.say("alice", "!ping") == ["pong"]


async def test_a_failing_passive_handler_apologises_once_and_others_still_run(
    bot_factory: BotFactory,
) -> None:
    bot = await bot_factory(extra={"broken": Broken, "recorder": Recorder})
    answers = await bot.irc.say("alice", "!ping")
    assert answers[0].startswith("Sorry, broken.fail failed (logged as error ")
    assert answers[1:] == ["pong"]
    plugin = bot.bot.plugins["recorder"]
    assert isinstance(plugin, Recorder) and plugin.seen == ["!ping"]


async def test_match_handlers_convert_groups_and_skip_nonsense(rbot: TestBot) -> None:
    await rbot.irc.transport.user_joins("bob.smith")
    assert await rbot.irc.say("alice", "bob.smith++ for the bisect") == [
        "bob.smith (bob.smith) thanked for the bisect"
    ]
    assert await rbot.irc.say("alice", "C++") == []
    assert await rbot.irc.say("alice", "i++") == []


async def test_per_room_config_overrides(rbot: TestBot) -> None:
    assert await rbot.irc.say("alice", "!greet") == ["hello"]
    assert await rbot.irc.say("alice", "!greet", room="#fr") == ["bonjour"]
    assert await rbot.matrix.say("alice", "!greet") == ["hello"]


async def test_network_prefix_overrides_the_bot_prefix(bot_factory: BotFactory) -> None:
    bot = await bot_factory(
        config={
            "networks": [
                {"type": "memory", "name": "irc", "style": "irc", "prefix": "."},
                {"type": "memory", "name": "matrix", "style": "matrix"},
            ]
        }
    )
    assert await bot.irc.say("alice", ".ping") == ["pong"]
    assert await bot.irc.say("bob", "!ping") == []
    assert await bot.matrix.say("alice", "!ping") == ["pong"]
    assert await bot.irc.say("carol", ".pnig") == [
        "Unknown command .pnig. Did you mean .ping? Try .help for the list."
    ]


async def test_two_plugins_claiming_one_command_is_a_startup_error(
    bot_factory: BotFactory,
) -> None:
    class Clash(Plugin):
        """Claims ping."""

        @command("ping")
        async def ping(self, ctx: Context) -> None:
            await ctx.reply("mine")

    with pytest.raises(
        ConfigError, match=re.escape("command 'ping' is claimed by core.ping and clash.ping")
    ):
        await bot_factory(extra={"clash": Clash})


async def test_the_rate_table_forgets_expired_uses(
    rbot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opsbot.router

    monkeypatch.setattr(opsbot.router, "RATE_TABLE_LIMIT", 5)
    clock = [1000.0]
    monkeypatch.setattr(opsbot.router.time, "monotonic", lambda: clock[0])
    for i in range(5):
        assert await rbot.irc.say(f"user{i}", "!ping") == ["pong"]
    clock[0] += 3  # past ping's 2 s window
    assert await rbot.irc.say("late", "!ping") == ["pong"]
    assert len(rbot.bot.router._last_use) == 1


class Claimer(Plugin):
    """Takes !startmeeting as its own, MeetBot-style."""

    @on(Message)
    async def meetbot(self, ctx: Context) -> None:
        if ctx.msg.text.startswith("!startmeeting"):
            ctx.claim()
            await ctx.reply("Meeting started")


async def test_a_claimed_line_is_not_also_an_unknown_command(bot_factory: BotFactory) -> None:
    bot = await bot_factory(plugins=["core"], extra={"claimer": Claimer})
    assert await bot.irc.say("alice", "!startmeeting ops") == ["Meeting started"]
    assert await bot.irc.say("alice", "!endmeeting") == [
        "Unknown command !endmeeting. Try !help for the list."
    ]


class Tools(Plugin):
    """A command with subcommands, for tests."""

    @command("tool", usage="[NAME]", help="The tool itself.")
    async def tool(self, ctx: Context, name: str | None = None) -> None:
        await ctx.reply(f"tool {name}")

    @command("tool list", aliases=["ls"], help="List the tools.")
    async def tool_list(self, ctx: Context) -> None:
        await ctx.reply("hammer, saw")

    @command("tool lend", usage="TOOL WHO", help="Lend a tool.")
    @require(Role.OP, refusal="Only the room's moderators lend tools.")
    async def tool_lend(self, ctx: Context, tool: str, who: str) -> None:
        await ctx.reply(f"{tool} lent to {who}")

    @command("shed add", usage="THING", help="Put a thing in the shed.")
    async def shed_add(self, ctx: Context, thing: str) -> None:
        await ctx.reply(f"{thing} is in the shed")


async def test_subcommands_have_their_own_usage_roles_and_help(bot_factory: BotFactory) -> None:
    bot = await bot_factory(plugins=["core"], extra={"tools": Tools})
    say = bot.irc.say
    assert await say("alice", "!tool list") == ["hammer, saw"]
    assert await say("alice", "!tool LS") == ["hammer, saw"]
    assert await say("alice", "!tool drill") == ["tool drill"], "no such subcommand: the command"
    assert await say("alice", "!tool lend saw bob") == ["Only the room's moderators lend tools."]
    assert await say("alice", "!shed add") == ["thing is missing. Usage: !shed add THING"]
    assert await say("alice", "!shed add rake") == ["rake is in the shed"]
    assert await say("alice", "!shed") == [
        "!shed takes one of: add. Say !help shed for what each does."
    ]
    helped = (await say("alice", "!help tool"))[0]
    assert "!tool [NAME] — The tool itself." in helped
    assert "!tool list — List the tools. (also !tool ls)" in helped
    assert "!tool lend TOOL WHO — Lend a tool. (needs op)" in helped
    assert (await say("alice", "!help tool lend")) == [
        "!tool lend TOOL WHO — Lend a tool. (needs op)"
    ]
    listed = (await say("alice", "!help"))[0]
    assert "shed" in listed and "tool" in listed and "tool list" not in listed
