"""The event model: aware UTC timestamps, identities keyed on accounts, lanes per room."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from opsbot.events import Identity, Message, NickChange, Role, Room


def test_timestamps_must_be_aware_and_become_utc() -> None:
    room = Room("irc", "#ops")
    who = Identity("irc", "alice", "alice")
    with pytest.raises(ValueError, match="timezone-aware"):
        Message(network="irc", room=room, sender=who, text="hi", ts=datetime(2026, 1, 1))
    paris = timezone(timedelta(hours=1))
    msg = Message(
        network="irc", room=room, sender=who, text="hi", ts=datetime(2026, 1, 1, 13, tzinfo=paris)
    )
    assert msg.ts.utcoffset() == timedelta(0) and msg.ts.hour == 12


def test_identity_key_needs_a_proven_account() -> None:
    assert Identity("irc", None, "alice").key is None
    assert Identity("matrix", "@alice:example.org", "alice", "Alice A").key == (
        "matrix",
        "@alice:example.org",
    )
    assert Identity("matrix", "@a:x", "alice", "Alice A").name == "Alice A"
    assert str(Identity("irc", None, "alice")) == "alice"


def test_lanes_are_per_room_or_per_network() -> None:
    who = Identity("irc", "alice", "alice")
    one = Message(network="irc", room=Room("irc", "#a"), sender=who, text="x")
    two = Message(network="irc", room=Room("irc", "#b"), sender=who, text="x")
    nick = NickChange(network="irc", old=who, new=Identity("irc", "alice", "alice2"))
    assert one.lane == "irc:#a" != two.lane
    assert nick.lane == "irc"


def test_roles_are_ordered() -> None:
    assert Role.NONE < Role.VOICE < Role.OP < Role.ADMIN < Role.BOT_ADMIN
    assert Role.BOT_ADMIN.label == "bot admin"
