"""How each chat event becomes meeting log lines."""

from __future__ import annotations

from opsbot.events import (
    Connected,
    Edit,
    Identity,
    Join,
    Message,
    NickChange,
    Part,
    Redaction,
    Room,
)
from opsbot_plugins.meetings.lines import lines_of

ROOM = Room("matrix", "!r:example.org")
ALICE = Identity("matrix", "@alice:example.org", "alice", "Alice A")


def test_a_multiline_message_is_one_line_per_line() -> None:
    msg = Message(network="matrix", room=ROOM, sender=ALICE, text="#info one\n#info two", id="$m")
    lines = lines_of(msg, own=False)
    assert [(line.text, line.msg_id, line.display) for line in lines] == [
        ("#info one", "$m", "Alice A"),
        ("#info two", "$m#1", "Alice A"),
    ]


def test_kinds_of_lines() -> None:
    action = Message(network="matrix", room=ROOM, sender=ALICE, text="waves", is_action=True)
    assert lines_of(action, own=True)[0].kind == "action" and lines_of(action, own=True)[0].is_bot
    assert lines_of(Join(network="matrix", room=ROOM, who=ALICE))[0].kind == "join"
    [quit_line] = lines_of(Part(network="matrix", room=ROOM, who=ALICE, reason="bye", is_quit=True))
    assert (quit_line.kind, quit_line.text) == ("quit", "bye")
    [nick] = lines_of(
        NickChange(
            network="matrix", old=ALICE, new=Identity("matrix", "@alice:example.org", "ally")
        )
    )
    assert (nick.kind, nick.nick, nick.text) == ("nick", "alice", "ally")
    [edit] = lines_of(
        Edit(network="matrix", room=ROOM, sender=ALICE, target_id="$m", text="new", id="$e")
    )
    assert (edit.kind, edit.target_id, edit.text) == ("edit", "$m", "new")
    [gone] = lines_of(Redaction(network="matrix", room=ROOM, sender=ALICE, target_id="$m"))
    assert (gone.kind, gone.target_id) == ("redaction", "$m")
    assert lines_of(Connected(network="matrix", me=ALICE)) == []
