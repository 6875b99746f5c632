"""The IRC transport stops reading from the server while its inbox is full, and reads again once
it has drained: a burst waits in the socket, not in the bot's memory."""

from __future__ import annotations

import asyncio
from typing import Any

import irc.client

from opsbot.config import IrcNetwork as IrcConfig
from opsbot.transports.irc import IrcTransport
from opsbot.transports.irc.transport import INBOX_HIGH, INBOX_LOW


class Socket:
    """What the transport sees of asyncio's transport: reading paused or not."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")


class Connection:
    def __init__(self) -> None:
        self.transport = Socket()


def line(i: int) -> irc.client.Event:
    source = irc.client.NickMask("carol!c@host")
    return irc.client.Event("pubmsg", source, "#ops", [f"line {i}"])


async def test_reading_pauses_at_the_high_mark_and_goes_on_at_the_low_one() -> None:
    config = IrcConfig.model_validate(
        {"type": "irc", "name": "t", "host": "127.0.0.1", "nick": "opsbot"}
    )
    transport = IrcTransport(config, "opsbot")
    conn = Connection()
    transport._conn = conn  # type: ignore[assignment]
    transport._busy = True  # the inbox task is on an earlier event: each line queues
    for i in range(INBOX_HIGH + 50):
        transport._on_event(None, line(i))
    assert conn.transport.calls == ["pause"], "paused once, however many more lines came"
    handled: list[Any] = []

    async def handle(event: irc.client.Event) -> None:
        handled.append(event)

    transport._handle = handle  # type: ignore[method-assign]
    task = asyncio.create_task(transport._process())
    for _ in range(1000):
        if len(handled) == INBOX_HIGH + 50:
            break
        await asyncio.sleep(0)
    task.cancel()
    assert len(handled) == INBOX_HIGH + 50
    assert conn.transport.calls == ["pause", "resume"]
    assert transport.read_pauses == 1
    assert INBOX_LOW < INBOX_HIGH
