"""The memory transport behaves like an IRC network or a homeserver, as tests need."""

from __future__ import annotations

import pytest

from opsbot.events import Connected, Identity, Role
from opsbot.transports import TransportError
from opsbot.transports.memory import MemoryTransport

from .conftest import RecordingSink


async def test_irc_style_identities_rooms_and_members(sink: RecordingSink) -> None:
    irc = MemoryTransport("irc", rooms=["#ops"])
    await irc.start(sink)
    events = sink.events
    assert isinstance(events[0], Connected) and events[0].me == Identity("irc", "opsbot", "opsbot")
    msg = await irc.say("Alice", "hi", room="#ops")
    assert msg.sender == Identity("irc", "alice", "Alice") and msg.room.id == "#ops"
    assert irc.member(irc.room("#ops"), "ALICE") == msg.sender
    assert (await irc.say("eve", "hi", room="#ops", account=None)).sender.account is None
    with pytest.raises(TransportError, match="not a channel name"):
        await irc.join("ops")
    irc.set_role("alice", Role.OP, room="#ops")
    assert await irc.role(irc.room("#ops"), msg.sender) is Role.OP
    assert not irc.capabilities.reactions and irc.capabilities.accounts


async def test_matrix_style_and_sending(sink: RecordingSink) -> None:
    mx = MemoryTransport("matrix", style="matrix")
    await mx.start(sink)
    msg = await mx.say("bob", "hello")
    assert msg.sender.account == "@bob:example.org" and msg.room.id == "!test:example.org"
    assert mx.member(msg.room, "@bob:example.org") == msg.sender
    msg_id = await mx.send(msg.room, "answer", reply_to=msg)
    assert mx.sent[-1].reply_to is msg and mx.sent[-1].id == msg_id
    await mx.react(msg.room, "$1", "👍")
    assert mx.reactions == [(msg.room, "$1", "👍")]
    await mx.stop()
    with pytest.raises(TransportError, match="not started"):
        await mx.say("bob", "late")
