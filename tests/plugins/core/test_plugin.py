"""The core plugin over real bots on memory networks: help, ping, version, plugins, join, part."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from opsbot.testing import BotFactory, TestBot
from opsbot_plugins.core.plugin import opsbot_version
from opsbot_plugins.core.models import JoinedRoom


async def test_ping_answers_pong_threaded_to_the_command(bot: TestBot) -> None:
    assert await bot.irc.say("alice", "!ping") == ["pong"]
    sent = bot.irc.transport.sent[-1]
    assert sent.reply_to is not None and sent.reply_to.text == "!ping"


async def test_ping_by_address_and_in_private(bot: TestBot) -> None:
    assert await bot.irc.say("alice", "opsbot: ping") == ["pong"]
    assert await bot.matrix.say("bob", "OpsBot, ping") == ["pong"]
    assert await bot.irc.say_private("carol", "ping") == ["pong"]


async def test_help_lists_commands_from_their_specs(bot: TestBot) -> None:
    [answer] = await bot.irc.say("alice", "!help")
    assert answer.startswith(
        "Commands: actions, done, forget, help, join*, link, minutes, mydata, optin, optout, "
        "part*, ping, plugins, version, whois"
    )
    assert "!help COMMAND" in answer


async def test_help_for_a_command_shows_usage_and_role(bot: TestBot) -> None:
    assert await bot.irc.say("alice", "!help join") == [
        "!join ROOM [KEY] — Join a room, and rejoin it after restarts. (needs bot admin)"
    ]
    assert await bot.irc.say("alice", "!help !ping") == ["!ping — Check that the bot is alive."]


async def test_help_for_a_plugin_and_for_nothing_known(bot: TestBot) -> None:
    [answer] = await bot.irc.say("alice", "!help core")
    assert answer.startswith("core: Help, ping, version")
    assert "!join" in answer
    assert await bot.irc.say("alice", "!help frobnicate") == [
        "No command or plugin called 'frobnicate'. !help lists them all."
    ]


async def test_version_and_plugins(bot: TestBot) -> None:
    [version] = await bot.irc.say("alice", "!version")
    assert version.startswith(f"opsbot {opsbot_version()} on Python 3.")
    [plugins] = await bot.irc.say("alice", "!plugins")
    assert plugins.startswith("Plugins: core (")


async def test_join_and_part_need_a_bot_admin(bot: TestBot) -> None:
    assert await bot.irc.say("mallory", "!join #ops") == ["!join needs bot admin rights here."]
    # Taking an admin's nick without their account proves nothing.
    assert await bot.irc.say("admin", "!join #ops", account=None) == [
        "!join needs bot admin rights here."
    ]
    assert "#ops" not in {r.id for r in bot.irc.transport.rooms()}


async def test_admin_join_is_stored_and_rejoined_after_restart(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    first = await bot_factory(database=db)
    assert await first.irc.say("admin", "!join #ops secret") == ["Joined #ops."]
    assert await first.matrix.say("admin", "!join !ops:example.org") == ["Joined !ops:example.org."]
    async with first.bot.storage.session() as session:
        rows = (await session.scalars(select(JoinedRoom).order_by(JoinedRoom.network))).all()
    assert [(r.network, r.room, r.key, r.joined_by) for r in rows] == [
        ("irc", "#ops", "secret", "admin"),
        ("matrix", "!ops:example.org", None, "@admin:example.org"),
    ]
    await first.bot.stop()

    second = await bot_factory(database=db)
    await second.irc.settle()
    assert "#ops" in {r.id for r in second.irc.transport.rooms()}
    assert "!ops:example.org" in {r.id for r in second.matrix.transport.rooms()}


async def test_admin_part_forgets_the_room(bot: TestBot) -> None:
    await bot.irc.say("admin", "!join #ops")
    assert await bot.irc.say("admin", "!part #ops see you") == ["Left #ops."]
    assert "#ops" not in {r.id for r in bot.irc.transport.rooms()}
    async with bot.bot.storage.session() as session:
        assert (await session.scalars(select(JoinedRoom))).all() == []


async def test_join_failure_is_explained(bot: TestBot) -> None:
    assert await bot.irc.say("admin", "!join ops") == ["Cannot join ops: ops is not a channel name"]
    assert await bot.irc.say("admin", "!part #nowhere") == [
        "Cannot leave #nowhere: I am not in #nowhere"
    ]


async def test_join_without_a_room_gets_the_usage(bot: TestBot) -> None:
    assert await bot.irc.say("admin", "!join") == ["room is missing. Usage: !join ROOM [KEY]"]


async def test_ping_is_rate_limited_per_person(bot: TestBot) -> None:
    assert await bot.irc.say("alice", "!ping") == ["pong"]
    [refusal] = await bot.irc.say("alice", "!ping")
    assert refusal.startswith("Please wait ") and refusal.endswith(" before using !ping again.")
    assert await bot.irc.say("bob", "!ping") == ["pong"]
    assert await bot.irc.say("admin", "!ping") == ["pong"]
    assert await bot.irc.say("admin", "!ping") == ["pong"]  # bot admins are exempt


async def test_help_on_meetings_and_their_commands(bot: TestBot) -> None:
    irc = bot.irc
    [start] = await irc.say("alice", "!help startmeeting")
    assert start.startswith("#startmeeting [NAME] — start a meeting here")
    assert await irc.say("alice", "!help #startmeeting") == [start]
    [chair] = await irc.say("alice", "!help chair")
    assert chair.endswith("(chairs and room moderators).")
    [overview] = await irc.say("alice", "!help meetings")
    assert "Anyone: #action TEXT" in overview and "Chairs: " in overview
    assert "#endmeeting" in overview and "!minutes [NAME] [DATE]" in overview
    await irc.say("alice", "#startmeeting ops")
    assert await irc.say("bob", "#help") == [
        "#help TEXT puts a call for help in the minutes; !help meetings lists the meeting commands."
    ]
