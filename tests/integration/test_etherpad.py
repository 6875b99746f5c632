"""The etherpad plugin on a real Etherpad 1.8.14 (npm) started for this test session."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from opsbot.testing import BotFactory, TestBot
from opsbot_plugins.etherpad.plugin import Etherpad as EtherpadPlugin

from .etherpadserver import Etherpad


def pad_config(server: Etherpad, pad: str, **extra: Any) -> dict[str, Any]:
    settings = {
        "servers": {"ops": {"url": server.url, "api_key": server.api_key}},
        "pad": pad,
        "retry_min": 0.1,
        "retry_max": 0.5,
        **extra,
    }
    return {"plugins": {"etherpad": settings}}


def plugin_of(bot: TestBot) -> EtherpadPlugin:
    plugin = bot.bot.plugins["etherpad"]
    assert isinstance(plugin, EtherpadPlugin)
    return plugin


async def delivered(bot: TestBot) -> None:
    await asyncio.wait_for(plugin_of(bot).outbox.idle(), 30)


def lines_of(text: str) -> list[str]:
    """The pad's lines without the invisible delivery markers."""
    return [
        "".join(ch for ch in line if ch not in "\u200b\u200c\u2063")
        for line in text.splitlines()
        if line.strip()
    ]


def unique_pad() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}"


PLUGINS = ("core", "meetings", "etherpad")


async def test_a_meetings_actions_and_summary_reach_the_pad_in_order(
    etherpad: Etherpad, bot_factory: BotFactory
) -> None:
    pad = unique_pad()
    bot = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad))
    irc = bot.irc
    await irc.say("alice", "#startmeeting ops meetup")
    await irc.say("bob", "hello")
    await irc.say("alice", "#action bob file the scheduler bug")
    await irc.say("alice", "#agreed ship the fix in the next point release")
    await irc.say("alice", "#info not logged by default")
    await irc.say("alice", "#action alice talk to the release team")
    await irc.say("alice", "#action carol nothing")
    await irc.say("alice", "#undo")
    await irc.say("alice", "#endmeeting")
    await delivered(bot)
    lines = lines_of(etherpad.text(pad))
    assert lines[0].startswith("== ops_meetup — ")
    assert lines[1] == "Chairs: alice. Live log: " + lines[1].split("Live log: ", 1)[1]
    assert lines[1].endswith(".log.html")
    assert lines[2].startswith("ACTION (bob): bob file the scheduler bug — alice, ")
    assert lines[3].startswith("AGREED: ship the fix in the next point release — alice, ")
    assert lines[4].startswith("ACTION (alice): alice talk to the release team — alice, ")
    assert lines[5].startswith("ACTION (unassigned): carol nothing")  # carol never spoke
    assert lines[6] == "UNDONE: ACTION carol nothing"
    assert lines[7].startswith("Meeting ended ")
    assert lines[8:10] == [
        "* alice: alice talk to the release team",
        "* bob: bob file the scheduler bug",
    ]
    assert any(line.startswith("Minutes:") and ".html" in line for line in lines[10:]), lines
    assert not any("not logged by default" in line for line in lines)
    assert "etherpad" not in str(irc.transport.sent)  # nothing went wrong to report


async def test_the_agenda_is_read_from_the_pad_and_walked_with_topic_next(
    etherpad: Etherpad, bot_factory: BotFactory
) -> None:
    pad = unique_pad()
    etherpad.api(
        "createPad",
        padID=pad,
        text="Ops meetup\n\n== Agenda ==\n- Roll call\n- Upgrades\n\nNotes\n",
    )
    bot = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad))
    await bot.irc.say("alice", "#startmeeting ops")
    for _ in range(100):  # read from the pad in the background: the meeting does not wait
        if any(s.text.startswith("Agenda from the pad") for s in bot.irc.transport.sent):
            break
        await asyncio.sleep(0.05)
    agenda = [s.text for s in bot.irc.transport.sent if s.text.startswith("Agenda from")]
    assert agenda == ["Agenda from the pad: 1. Roll call; 2. Upgrades"]
    await bot.bot.bus.drain()
    assert "Agenda item 1 of 2: Roll call" in await bot.irc.say("alice", "#topic next")
    assert await bot.irc.say("alice", "#topic next") == ["Agenda item 2 of 2: Upgrades"]
    await bot.irc.say("alice", "#endmeeting")
    assert plugin_of(bot).running == {}


async def test_twenty_actions_during_an_outage_and_a_restart_arrive_once_in_order(
    etherpad: Etherpad, bot_factory: BotFactory, tmp_path: Path
) -> None:
    pad = unique_pad()
    db = tmp_path / "bot.db"
    first = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad), database=db)
    await first.irc.say("alice", "#startmeeting outage")
    await delivered(first)
    etherpad.stop()
    try:
        for i in range(10):
            await first.irc.say("alice", f"#action bob outage item {i}")
        for _ in range(100):  # until the worker has tried and failed
            status = await first.irc.say("alice", "!pad status")
            if "Last error" in status[0]:
                break
            await asyncio.sleep(0.05)
        assert status[0].startswith("10 pad operations wait for ")
        assert "Last error: cannot reach Etherpad" in status[0]
        await first.bot.stop()
        second = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad), database=db)
        for i in range(10, 20):
            await second.irc.say("alice", f"#action bob outage item {i}")
    finally:
        etherpad.start()
    await delivered(second)
    actions = [line for line in lines_of(etherpad.text(pad)) if line.startswith("ACTION")]
    assert [a.split(": ", 1)[1].split(" — ")[0] for a in actions] == [
        f"bob outage item {i}" for i in range(20)
    ]
    assert (await second.irc.say("alice", "!pad status"))[0].startswith("Everything is written")


async def test_a_retry_after_an_uncertain_append_does_not_write_twice(
    etherpad: Etherpad, bot_factory: BotFactory
) -> None:
    pad = unique_pad()
    bot = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad))
    await bot.irc.say("alice", "#startmeeting uncertain")
    await delivered(bot)
    client = plugin_of(bot).clients["ops"]
    real_append = client.append_text
    calls = 0

    async def append_then_lose_the_answer(pad_id: str, text: str) -> None:
        nonlocal calls
        calls += 1
        await real_append(pad_id, text)
        if calls == 1:
            from opsbot_plugins.etherpad.client import EtherpadUnavailable

            raise EtherpadUnavailable("the answer was lost")

    client.append_text = append_then_lose_the_answer  # type: ignore[method-assign]
    await bot.irc.say("alice", "#action bob only once")
    await delivered(bot)
    assert sum("only once" in line for line in lines_of(etherpad.text(pad))) == 1
    assert calls == 1, "the retry found its line in the pad and did not append again"


async def test_a_wrong_api_key_is_told_to_the_chair_in_one_line_and_logged(
    etherpad: Etherpad, bot_factory: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    pad = unique_pad()
    config = pad_config(etherpad, pad)
    config["plugins"]["etherpad"]["servers"]["ops"]["api_key"] = "wrong"
    bot = await bot_factory(plugins=PLUGINS, config=config)
    with caplog.at_level(logging.ERROR):
        await bot.irc.say("alice", "#startmeeting keys")
        await bot.irc.say("alice", "#action bob rotate the key")
        for _ in range(100):
            told = [s.text for s in bot.irc.transport.sent if "Etherpad" in s.text]
            if told:
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # the worker keeps retrying: it must not keep telling
    told = [s.text for s in bot.irc.transport.sent if "Etherpad" in s.text]
    assert len(told) == 1
    assert "API key" in told[0] and "\n" not in told[0]
    assert any("API key" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


async def test_pad_commands_and_a_chair_choosing_the_pad(
    etherpad: Etherpad, bot_factory: BotFactory
) -> None:
    pad, other = unique_pad(), unique_pad()
    bot = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad))
    irc = bot.irc
    assert await irc.say("bob", "!pad") == [f"This room's pad: {etherpad.url}/p/{pad}"]
    await irc.say("alice", "#startmeeting choose")
    assert await irc.say("bob", "#pad") == [f"Pad: {etherpad.url}/p/{pad}"]
    assert await irc.say("bob", f"#pad {etherpad.url}/p/{other}") == [
        "Only the meeting's chairs can set its pad."
    ]
    assert await irc.say("alice", "#pad https://elsewhere.example/p/x") == [
        f"That is not a pad on a known Etherpad ({etherpad.url})."
    ]
    assert await irc.say("alice", f"#pad {etherpad.url}/p/{other}") == [
        f"Action items and decisions now go to {etherpad.url}/p/{other}"
    ]
    await irc.say("alice", "#action bob goes to the new pad")
    await delivered(bot)
    assert any("goes to the new pad" in line for line in lines_of(etherpad.text(other)))
    assert not any("goes to the new pad" in line for line in lines_of(etherpad.text(pad)))
    await irc.say("alice", "#endmeeting")
    # outside a meeting, !pad names the pad the room's last meeting wrote to
    assert await irc.say("bob", "!pad") == [
        f"The pad of choose, the last meeting here: {etherpad.url}/p/{other}"
    ]


async def test_the_start_of_a_meeting_names_its_pad(
    etherpad: Etherpad, bot_factory: BotFactory
) -> None:
    pad = unique_pad()
    bot = await bot_factory(plugins=PLUGINS, config=pad_config(etherpad, pad))
    said = await bot.irc.say("alice", "#startmeeting ops")
    assert f"The meeting's pad: {etherpad.url}/p/{pad}" in said, said


@pytest.mark.parametrize("mode", ["replace", "note"])
async def test_an_edited_and_a_redacted_item_reach_the_pad(
    mode: str, etherpad: Etherpad, bot_factory: BotFactory
) -> None:
    from opsbot.events import Edit, Redaction

    pad = unique_pad()
    config = pad_config(etherpad, pad, log_info=True, redactions=mode)
    bot = await bot_factory(plugins=PLUGINS, config=config)
    mx = bot.matrix
    room = mx.transport.room(mx.room)
    await mx.say("alice", "#startmeeting pads")
    said = await mx.transport.say("bob", "#info the db password is hunter2", id="$pw")
    await mx.transport.say("bob", "#info the upgrade faild", id="$typo")
    await delivered(bot)
    assert "hunter2" in etherpad.text(pad)
    await mx.transport.deliver(
        Redaction(network="matrix", room=room, sender=said.sender, target_id="$pw", id="$r")
    )
    await mx.transport.deliver(
        Edit(network="matrix", room=room, sender=said.sender, target_id="$typo",
             text="#info the upgrade worked", id="$e")
    )  # fmt: skip
    await mx.say("bob", "#info after both")
    await delivered(bot)
    lines = lines_of(etherpad.text(pad))
    assert any(line == "INFO: the upgrade worked (edited)" for line in lines), lines
    assert not any("faild" in line for line in lines)
    if mode == "replace":
        assert "INFO: [message removed]" in lines and "hunter2" not in etherpad.text(pad)
    else:
        assert any(line.startswith("REMOVED: a INFO line was redacted at ") for line in lines)
    assert lines[-1].startswith("INFO: after both"), "later lines still come in order"
    stored = await plugin_of(bot).storage.engine.connect()
    try:
        texts = [
            row[0]
            for row in (await stored.exec_driver_sql("SELECT payload FROM opsbot_outbox")).all()
        ]
    finally:
        await stored.close()
    assert not [text for text in texts if "hunter2" in text], "the bot keeps no copy"
    if mode == "replace":  # a line redacted after the meeting ended leaves the pad too
        await mx.transport.say("bob", "#info the vault key is hunter3", id="$late")
        await mx.say("alice", "#endmeeting")
        await delivered(bot)
        assert "hunter3" in etherpad.text(pad)
        await mx.transport.deliver(
            Redaction(network="matrix", room=room, sender=said.sender, target_id="$late", id="$r2")
        )
        for _ in range(100):
            await delivered(bot)
            if "hunter3" not in etherpad.text(pad):
                break
            await asyncio.sleep(0.05)
        assert "hunter3" not in etherpad.text(pad)
