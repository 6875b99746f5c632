"""The console room: typing as a nick, /nick, /me, and stopping at the end of input."""

from __future__ import annotations

import asyncio
import io

from opsbot.events import Connected, Event, Message, NickChange, Role
from opsbot.transports.console import ConsoleTransport

from .conftest import RecordingSink


def make_console(typed: str, out: io.StringIO) -> ConsoleTransport:
    return ConsoleTransport(
        "console",
        speaker="you",
        room="#console",
        bot_nick="opsbot",
        stdin=io.StringIO(typed),
        stdout=out,
    )


async def run_console(typed: str) -> tuple[list[Event], str, ConsoleTransport]:
    out = io.StringIO()
    console = make_console(typed, out)
    sink = RecordingSink()
    await console.start(sink)
    assert console.finished is not None
    await asyncio.wait_for(console.finished, 5)
    await console.stop()
    return sink.events, out.getvalue(), console


async def test_lines_become_messages_from_the_current_speaker() -> None:
    events, out, console = await run_console(
        "#startmeeting ops\n\n/me waves\n/nick bob\n!ping\n/nick not valid\n//etc/hosts is a path\n/dance\n"
    )
    assert isinstance(events[0], Connected)
    lines = [
        (e.sender.nick, e.sender.account, e.text, e.is_action)
        for e in events
        if isinstance(e, Message)
    ]
    assert lines == [
        ("you", "you", "#startmeeting ops", False),
        ("you", "you", "waves", True),
        ("bob", "bob", "!ping", False),
        ("bob", "bob", "/etc/hosts is a path", False),
    ]
    assert "* You are now bob" in out
    [change] = [e for e in events if isinstance(e, NickChange)]
    assert (change.old.nick, change.new.nick, change.new.account) == ("you", "bob", "bob")
    assert "* 'not valid' is not a valid nick" in out
    assert "* Console commands: /nick NAME, /me TEXT, /quit" in out
    room = console.rooms()[0]
    said = [e for e in events if isinstance(e, Message)]
    assert await console.role(room, said[0].sender) is Role.OP  # the configured speaker
    assert await console.role(room, said[2].sender) is Role.NONE
    assert console.member(room, "BOB") == said[2].sender


async def test_quit_ends_input_early() -> None:
    events, _, _ = await run_console("one\n/quit\ntwo\n")
    assert [e.text for e in events if isinstance(e, Message)] == ["one"]


async def test_replies_are_printed_per_line() -> None:
    out = io.StringIO()
    console = make_console("", out)
    room = console.rooms()[0]
    await console.send(room, "first\nsecond")
    await console.send(room, "quiet", notice=True)
    await console.send_private(console.speaker_identity, "psst")
    assert (
        out.getvalue()
        == "<opsbot> first\n<opsbot> second\n-opsbot- quiet\n[to you] <opsbot> psst\n"
    )
