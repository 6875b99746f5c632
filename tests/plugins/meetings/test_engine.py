"""The meeting engine, command by command: a pure fold of lines into state and effects."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsbot_plugins.meetings.engine import (
    MAX_NAME,
    REDACTED,
    Ended,
    Line,
    Meeting,
    Person,
    Recorded,
    Reply,
    Revised,
    Save,
    Settings,
    SetTopic,
    default_name,
    replay,
    sanitise_name,
)

T0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


class Script:
    """Feeds lines one second apart and keeps the replies."""

    def __init__(
        self, settings: Settings | None = None, channel: str = "#openstack-operators"
    ) -> None:
        self.meeting = Meeting("oftc", channel, settings)
        self.at = T0
        self.effects: list[Any] = []

    def say(
        self,
        nick: str,
        text: str = "",
        *,
        account: str | None = None,
        after: float = 1,
        **extra: Any,
    ) -> list[str]:
        self.at += timedelta(seconds=after)
        effects = self.meeting.feed(
            Line(ts=self.at, nick=nick, text=text, account=account, **extra)
        )
        self.effects += effects
        return [e.text for e in effects if isinstance(e, Reply)]


@pytest.fixture
def s() -> Script:
    script = Script()
    script.say("alice", "#startmeeting Ops Meetup Team", account="alice")
    return script


def meetbot_name(line: str) -> str:
    """OpenStack MeetBot's do_meetingname (ircmeeting/meeting.py), as read: white space runs
    joined by ``_`` after lower-casing, then every character but a-z and 0-9 as ``_``."""
    return re.sub(r"[^a-z0-9]", "_", "_".join(line.strip().lower().split()))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("scientific-sig", "scientific_sig"),
        ("Ops Meetup Team", "ops_meetup_team"),
        ("  large   scale\tSIG ", "large_scale_sig"),
        ("OpenStack-Ansible", "openstack_ansible"),
        ("ops.meetup", "ops_meetup"),
        ("under_score", "under_score"),
        ("nova/placement", "nova_placement"),
        ("../../etc/passwd", "______etc_passwd"),
        ("Café ops", "caf__ops"),
        ("日本 ops", "___ops"),
        ("TC", "tc"),
        ("release-2026.1", "release_2026_1"),
    ],
)
def test_names_as_openstack_meetbot_makes_them(given: str, expected: str) -> None:
    assert meetbot_name(given) == expected  # the table is MeetBot's rule
    assert sanitise_name(given) == expected
    s = Script()
    s.say("alice", f"#startmeeting {given}", account="alice")
    assert s.meeting.name == expected
    assert s.say("alice", f"#meetingname {given}", account="alice") == [
        f"The meeting name has been set to '{expected}'"
    ]


def test_names_too_long_for_a_file_are_cut_where_meetbot_could_not_write_them() -> None:
    name = sanitise_name("a" * 300)
    assert name == meetbot_name("a" * 300)[:MAX_NAME] and len(name) == 229
    assert len(f"{name}.2026-12-03-15.46.log.html".encode()) == 255
    assert sanitise_name("   ") == "meeting"


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("#openstack-operators", "openstack-operators"),  # MeetBot keeps a channel's dashes
        ("#OpenStack-Meeting-3", "openstack-meeting-3"),
        ("!abc:matrix.org", "abc"),
        (
            "!e8yRfVguNhiuD1nISuZFS5q8pPxnP_PnEJ6ouZEmeqs",
            "e8yrfvgunhiud1nisuzfs5q8ppxnp_pnej6ouzemeqs",
        ),
        ("#ops:localhost", "ops"),
        ("Ops Meetup", "ops_meetup"),
        ("#..", "meeting"),
    ],
)
def test_default_names_from_the_channel(channel: str, expected: str) -> None:
    assert default_name(channel) == expected


def test_startmeeting_answers_as_meetbot(s: Script) -> None:
    assert s.meeting.name == "ops_meetup_team"
    assert s.meeting.meeting_topic == "Ops Meetup Team"
    replies = [e.text for e in s.effects if isinstance(e, Reply)]
    assert replies == [
        "Meeting started Tue Nov 24 14:00:01 2026 UTC and is due to finish in 60 minutes.  "
        "The chair is alice. Information about MeetBot at http://wiki.debian.org/MeetBot.",
        "Useful Commands: #action #agreed #help #info #idea #link #topic #startvote.",
        "The meeting name has been set to 'ops_meetup_team'",
    ]


def test_name_defaults_to_the_channel() -> None:
    script = Script()
    script.say("alice", "#startmeeting")
    assert script.meeting.name == "openstack-operators"


def test_commands_are_case_insensitive_at_line_start_with_either_prefix(s: Script) -> None:
    s.say("bob", "#Info upgrades went well")
    s.say("bob", "!idea use canaries")
    s.say("bob", "we could #info this later")
    s.say("bob", "#infoo not a command")
    s.say("bob", "  #HELP need reviewers")
    s.say("bob", "#halp more reviewers")
    assert [(i.kind, i.text) for i in s.meeting.items] == [
        ("INFO", "upgrades went well"),
        ("IDEA", "use canaries"),
        ("HELP", "need reviewers"),
        ("HELP", "more reviewers"),
    ]


@pytest.mark.parametrize("chairs", ["bob, carol", "bob carol", "bob,carol", " bob ,  carol, "])
def test_chair_lists_split_on_commas_and_spaces_as_meetbot_does(chairs: str) -> None:
    s = Script()
    s.say("alice", "#startmeeting ops", account="alice")
    s.say("bob", "hi", account="bob")
    assert s.say("alice", f"#chair {chairs}", account="alice") == [
        "Current chairs: alice, bob, carol"
    ]
    assert all("," not in chair.nick for chair in s.meeting.chairs)
    assert s.say("bob", "#topic from bob", account="bob") == []
    assert s.say("alice", f"#unchair {chairs}", account="alice") == ["Current chairs: alice"]


def test_nick_lists_and_actions_owned_by_both(s: Script) -> None:
    assert s.say("bob", "#nick dave, erin") == [
        "Current nicks for action items: alice, bob, dave, erin"
    ]
    s.say("bob", "#here bobby,")
    s.say("alice", "#action dave and erin write the upgrade notes", account="alice")
    s.say("alice", "#action bobby files the bug", account="alice")
    first, second = s.meeting.actions()
    assert s.meeting.owners(first) == ["dave", "erin"]
    assert s.meeting.owners(second) == ["bob"]
    assert s.meeting.aliases["bob"] == ["bobby"]
    names = [*s.meeting.people(), *(n for a in s.meeting.aliases.values() for n in a)]
    assert not any(name.endswith(",") for name in names)


def test_bot_commands_after_the_bot_prefix_are_not_meeting_commands() -> None:
    script = Script(Settings(prefixes=("#", "!"), reserved=frozenset({"help"})))
    script.say("alice", "!startmeeting")
    script.say("alice", "!help")
    script.say("alice", "#help wanted")
    assert [i.kind for i in script.meeting.items] == ["HELP"]


def test_links_including_bare_urls(s: Script) -> None:
    s.say("bob", "#link https://etherpad.opendev.org/p/ops-meetups-team the pad")
    s.say("bob", "https://bugs.launchpad.net/nova/+bug/123 is the bug")
    s.say("bob", "see https://example.org")
    assert [(i.kind, i.text) for i in s.meeting.items] == [
        ("LINK", "https://etherpad.opendev.org/p/ops-meetups-team the pad"),
        ("LINK", "https://bugs.launchpad.net/nova/+bug/123 is the bug"),
    ]


def test_chair_commands_are_refused_to_others_naming_the_chairs(s: Script) -> None:
    assert s.say("mallory", "#topic takeover") == ["Only the chairs (alice) can use #topic."]
    assert s.say("mallory", "#endmeeting") == ["Only the chairs (alice) can use #endmeeting."]
    assert s.say("mallory", "#agreed nothing") == ["Only the chairs (alice) can use #agreed."]
    assert s.meeting.items == () and not s.meeting.ended


def test_chairs_are_accounts_so_a_taken_nick_cannot_chair(s: Script) -> None:
    assert s.say("alice", "#topic spoofed", account=None) == [
        "Only the chairs (alice) can use #topic."
    ]
    assert s.say("Alice", "#topic real", account="alice") == []
    assert s.meeting.topics() == ["real"]


def test_chair_and_unchair(s: Script) -> None:
    s.say("bob", "hello", account="bob")
    assert s.say("alice", "#chair bob carol", account="alice") == [
        "Current chairs: alice, bob, carol"
    ]
    assert s.say("BOB", "#topic from bob", account="bob") == []
    assert s.say("bob", "#topic impostor", account="mallory") == [
        "Only the chairs (alice, bob, carol) can use #topic."
    ]
    assert s.say("carol", "#unchair alice bob", account=None) == [
        "The owner (alice) cannot be unchaired.",
        "Current chairs: alice, carol",
    ]
    assert s.meeting.is_chair("carol", None) and not s.meeting.is_chair("bob", "bob")


def test_anyone_may_end_an_overdue_meeting(s: Script) -> None:
    assert s.say("bob", "#endmeeting", after=59 * 60) == [
        "Only the chairs (alice) can use #endmeeting."
    ]
    replies = s.say("bob", "#endmeeting", after=60)
    assert replies[0].startswith("Meeting ended Tue Nov 24 15:00:") and s.meeting.ended


def test_endmeeting_announces_the_links() -> None:
    settings = Settings(
        links=(
            ("Minutes", "https://m.example/{path}.html"),
            ("Log", "https://m.example/{path}.log.html"),
        )
    )
    script = Script(settings)
    script.say("alice", "#startmeeting ops")
    replies = script.say("alice", "#endmeeting")
    assert replies[1:] == [
        "Minutes: https://m.example/ops/2026/ops.2026-11-24-14.00.html",
        "Log:     https://m.example/ops/2026/ops.2026-11-24-14.00.log.html",
    ]
    assert isinstance(script.effects[-1], Ended)


def test_startmeeting_while_one_runs(s: Script) -> None:
    assert s.say("bob", "#startmeeting mine") == [
        "A meeting is already running here: 'ops_meetup_team', chaired by alice since 14:00:01 UTC."
    ]


def test_topics_and_the_channel_topic(s: Script) -> None:
    s.say("alice", "#topic Roll call", account="alice")
    assert s.effects[-1] == SetTopic("Ops Meetup Team (Meeting topic: Roll call)")
    s.say("alice", "#meetingtopic Ops meetup planning", account="alice")
    assert s.effects[-1] == SetTopic("Ops meetup planning (Meeting topic: Roll call)")
    assert s.say("alice", "#meetingname Berlin 2026", account="alice") == [
        "The meeting name has been set to 'berlin_2026'"
    ]


def test_undo_drops_the_last_item_of_any_kind(s: Script) -> None:
    s.say("alice", "#topic one", account="alice")
    s.say("alice", "#topic two", account="alice")
    s.say("alice", "#agreed yes", account="alice")
    assert s.say("alice", "#undo", account="alice") == ["Removing item from minutes: AGREED yes"]
    assert s.say("alice", "#undo", account="alice") == ["Removing item from minutes: TOPIC two"]
    assert s.meeting.current_topic == "one"
    s.say("alice", "#undo", account="alice")
    assert s.say("alice", "#undo", account="alice") == ["There is nothing to undo."]


def test_decisions(s: Script) -> None:
    for command in (
        "agreed",
        "agree",
        "accepted",
        "accept",
        "rejected",
        "reject",
        "failed",
        "inconclusive",
    ):
        s.say("alice", f"#{command} {command} text", account="alice")
    assert [i.kind for i in s.meeting.items] == [
        "AGREED",
        "AGREED",
        "ACCEPTED",
        "ACCEPTED",
        "REJECTED",
        "REJECTED",
        "FAILED",
        "INCONCLUSIVE",
    ]
    assert s.say("alice", "#agreed", account="alice") == ["#agreed needs some text."]


def test_votes(s: Script) -> None:
    assert s.say("bob", "#vote yes") == [
        "There is no vote open; a chair can open one with #startvote."
    ]
    assert s.say("alice", "#startvote Where next? Berlin, Paris, Tokyo", account="alice") == [
        "Begin voting on: Where next? Valid vote options are Berlin, Paris, Tokyo.",
        "Vote using '#vote OPTION'. Only your last vote counts.",
    ]
    assert s.say("alice", "#startvote Another?", account="alice")[0].startswith(
        "A vote is already open"
    )
    assert s.say("bob", "#vote paris") == []
    assert s.say("bob", "#vote Berlin") == []  # only the last vote counts
    assert s.say("carol", "#vote Madrid") == [
        "Madrid is not a valid option. Valid options are Berlin, Paris, Tokyo."
    ]
    assert s.say("carol", "#vote Tokyo") == []
    assert s.say("dave", "#showvote") == [
        "Where next? Berlin (1): bob; Paris (0): -; Tokyo (1): carol"
    ]
    assert s.say("alice", "#endvote", account="alice") == [
        'Voted on "Where next?" Results are',
        "Berlin (1): bob; Paris (0): -; Tokyo (1): carol",
    ]
    assert s.meeting.items[-1].kind == "VOTE"
    # MeetBot's words, options in the order they first got a vote (Paris lost bob's, keeps 0)
    assert (
        s.meeting.items[-1].text
        == 'Voted on "Where next?" Results are, Paris: 0, Berlin: 1, Tokyo: 1'
    )

    assert s.say("alice", "#endvote", account="alice") == ["There is no vote open to end."]


def test_a_vote_without_options_is_yes_or_no(s: Script) -> None:
    s.say("alice", "#startvote Ship it", account="alice")
    assert s.meeting.votes[-1].options == ("Yes", "No")


def test_motions(s: Script) -> None:
    s.say("alice", "#motion adopt the new upgrade guide", account="alice")
    s.say("bob", "#vote +1")
    s.say("carol", "#vote +1")
    s.say("dave", "#vote -1")
    assert s.say("alice", "#endvote", account="alice") == [
        "There is no vote open to end. Use #close for a motion."
    ]
    assert s.say("alice", "#close", account="alice") == [
        "Motion carried: adopt the new upgrade guide (+1: 2, 0: 0, -1: 1)"
    ]
    assert s.say("alice", "#close", account="alice") == ["There is no motion open to close."]


def test_lurk_keeps_the_bot_quiet_but_recording(s: Script) -> None:
    s.say("alice", "#lurk", account="alice")
    assert s.say("mallory", "#topic x") == []
    s.say("alice", "#info still recorded", account="alice")
    assert s.say("alice", "#unlurk", account="alice") == ["No longer lurking."]
    assert [i.text for i in s.meeting.items] == ["still recorded"]


def test_save_and_restrictlogs(s: Script) -> None:
    s.say("alice", "#save", account="alice")
    assert any(isinstance(e, Save) for e in s.effects)
    assert s.say("alice", "#restrictlogs", account="alice") == [
        "The logs of this meeting will not be published."
    ]
    assert s.meeting.restricted


def test_action_owners_are_attendees_named_as_whole_words(s: Script) -> None:
    s.say("bob", "o/")
    s.say("Carol_", "hi")
    s.say("ann", "hello")
    s.say("alice", "#nick dave[m]", account="alice")
    s.say("eve", "#here evie")
    s.say("alice", "#action bob and CAROL_ to book the venue", account="alice")
    s.say("alice", "#action dave[m] to check with evie", account="alice")
    s.say("alice", "#action someone to write the annual report", account="alice")
    by_person, unassigned = s.meeting.actions_by_person()
    assert {nick: [a.text for a in items] for nick, items in by_person.items()} == {
        "bob": ["bob and CAROL_ to book the venue"],
        "Carol_": ["bob and CAROL_ to book the venue"],
        "dave[m]": ["dave[m] to check with evie"],
        "eve": ["dave[m] to check with evie"],
    }
    assert [a.text for a in unassigned] == [
        "someone to write the annual report"
    ]  # not "ann" in "annual"


def test_matrix_display_names_and_localparts_own_actions(s: Script) -> None:
    s.say("Jane Doe", "hi", account="@jdoe:example.org", display="Jane Doe")
    s.say("alice", "#action jdoe to send the slides", account="alice")
    assert s.meeting.owners(s.meeting.items[-1]) == ["Jane Doe"]


def test_actions_lists_what_is_recorded_so_far(s: Script) -> None:
    assert s.say("bob", "#actions") == ["No action items yet."]
    s.say("alice", "#action bob to test", account="alice")
    assert s.say("bob", "#actions") == ["Action items so far: (1) bob to test"]


def test_people_present_count_every_line_from_start_to_end(s: Script) -> None:
    s.say("bob", "one")
    s.say("opsbot", "an answer", is_bot=True)
    s.say("bob", "two", kind="action")
    s.say("carol", "joined", kind="join")
    s.say("alice", "#endmeeting", account="alice")
    s.say("opsbot", "Meeting ended", is_bot=True)
    assert s.meeting.people_present() == [("alice", 2), ("bob", 2), ("opsbot", 1)]


def test_nick_changes_keep_chairs_who_have_no_account() -> None:
    script = Script()
    script.say("alice", "#startmeeting")
    script.say("alice", "alice_", kind="nick")
    assert script.say("alice_", "#topic renamed") == []
    assert script.meeting.chairs[0].nick == "alice_"


def test_edits_change_items_and_redactions_remove_text(s: Script) -> None:
    s.say("bob", "#info the upgrade failed", msg_id="$1")
    s.say("bob", "#info secret token abc", msg_id="$2")
    s.say("bob", "#info the upgrade succeeded", kind="edit", msg_id="$3", target_id="$1")
    assert any(isinstance(e, Revised) and not e.redacted for e in s.effects)
    s.say("alice", "#topic secret plans", msg_id="$5", account="alice")
    s.say("alice", "#topic the open floor", msg_id="$6", account="alice")
    s.say("bob", "", kind="redaction", msg_id="$4", target_id="$2")
    s.say("alice", "", kind="redaction", msg_id="$7", target_id="$6")
    # a redacted line's item leaves the minutes; the log keeps only "[message removed]"
    assert [i.text for i in s.meeting.items] == ["the upgrade succeeded", "secret plans"]
    assert s.meeting.current_topic == "secret plans"
    gone = [e.item.text for e in s.effects if isinstance(e, Revised) and e.redacted]
    assert gone == ["secret token abc", "the open floor"]
    texts = [s.meeting.text_of(line) for line in s.meeting.lines if line.kind == "message"]
    assert "secret token abc" not in " ".join(texts) and REDACTED in texts


def test_very_long_lines_are_kept_whole(s: Script) -> None:
    text = "x" * 20_000
    s.say("bob", f"#info {text}")
    assert s.meeting.items[-1].text == text


def test_replay_skips_lines_before_the_start_and_keeps_closing_lines() -> None:
    lines = [
        Line(ts=T0, nick="bob", text="before"),
        Line(ts=T0, nick="alice", text="#startmeeting"),
        Line(ts=T0, nick="alice", text="#endmeeting"),
        Line(ts=T0, nick="meetbot", text="Meeting ended"),
    ]
    meeting = replay(lines, "oftc", "#ops")
    assert [line.text for line in meeting.lines] == [
        "#startmeeting",
        "#endmeeting",
        "Meeting ended",
    ]
    assert meeting.people_present() == [("alice", 2)]


def test_topic_next_walks_an_agenda_and_says_when_it_is_done(s: Script) -> None:
    assert s.say("alice", "#topic next", account="alice") == [] and s.meeting.topics() == [
        "next"
    ], "without an agenda, 'next' is just a title"
    s.say("opsbot", "Roll call\nUpgrades\n", kind="agenda", is_bot=True)
    assert s.say("alice", "#topic next", account="alice") == ["Agenda item 1 of 2: Roll call"]
    assert s.say("bob", "#topic next") == ["Only the chairs (alice) can use #topic."]
    assert s.say("alice", "#topic next", account="alice") == ["Agenda item 2 of 2: Upgrades"]
    assert s.say("alice", "#topic next", account="alice") == [
        "That was the last agenda item; #topic TITLE sets any other."
    ]
    assert s.meeting.topics() == ["next", "Roll call", "Upgrades"]
    assert "opsbot" not in dict(s.meeting.people_present())


def test_an_item_handed_out_never_changes_under_its_holder(s: Script) -> None:
    s.say("bob", "#info the upgrade failed", msg_id="$1")
    recorded = next(e.item for e in s.effects if isinstance(e, Recorded))
    s.say("bob", "#info the upgrade succeeded", kind="edit", msg_id="$2", target_id="$1")
    revised = next(e.item for e in s.effects if isinstance(e, Revised))
    assert recorded.text == "the upgrade failed", "what was handed out stays as it was"
    assert revised.text == "the upgrade succeeded" and revised.seq == recorded.seq
    assert [i.text for i in s.meeting.items] == ["the upgrade succeeded"]
    with pytest.raises(AttributeError):
        recorded.text = "changed"  # type: ignore[misc]


def test_a_line_is_parsed_once(s: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = Meeting._parse

    def counting(self: Meeting, text: str) -> tuple[str, str] | None:
        parsed.append(text)
        return real(self, text)

    monkeypatch.setattr(Meeting, "_parse", counting)
    line = Line(
        ts=T0 + timedelta(minutes=5), nick="alice", text="#topic one parse", account="alice"
    )
    for _ in range(4):  # the plugin, the moderation check, the engine, the announcement
        s.meeting.parse(line.text)
    s.meeting.feed(line)
    assert parsed == ["#topic one parse"]


def test_a_state_once_held_never_changes() -> None:
    """The meeting's state is a value: each line that changes it makes a new one, so a state
    (its chairs, items and votes) held before later lines is as it was."""
    s = Script()
    s.say("alice", "#startmeeting ops", account="alice")
    s.say("alice", "#startvote Ship it? Yes, No", account="alice")
    before = s.meeting.state
    vote_before = before.votes[-1]
    s.say("bob", "#vote Yes")
    s.say("alice", "#chair bob", account="alice")
    s.say("alice", "#topic upgrades", account="alice")
    s.say("alice", "#endvote", account="alice")
    s.say("alice", "#lurk", account="alice")
    assert before.chairs == (Person("alice", "alice"),)
    assert before.items == () and before.current_topic == "" and not before.lurking
    assert vote_before.ballots == {} and vote_before.voted == () and not vote_before.closed
    after = s.meeting.state
    assert [c.nick for c in after.chairs] == ["alice", "bob"]
    assert after.votes[-1].closed and after.votes[-1].ballots["bob"] == ("bob", "Yes")
    assert [i.kind for i in after.items] == ["TOPIC", "VOTE"] and after.lurking
    with pytest.raises(AttributeError):
        after.name = "other"  # type: ignore[misc]


def test_the_state_is_a_function_of_the_log_alone() -> None:
    s = Script()
    for nick, text in [
        ("alice", "#startmeeting ops"),
        ("alice", "#topic one"),
        ("bob", "#action bob writes it"),
        ("alice", "#undo"),
        ("alice", "#meetingname ops-team"),
        ("alice", "#endmeeting"),
    ]:
        s.say(nick, text, account=nick)
    again = replay(
        [replace(line, seq=0) for line in s.meeting.lines], "oftc", "#openstack-operators"
    )
    assert again.state == s.meeting.state


def test_a_meetings_state_is_not_set_from_outside() -> None:
    meeting = Meeting("oftc", "#ops")
    with pytest.raises(AttributeError, match="changes only by its lines"):
        meeting.chairs = ()
    meeting.keep_name("ops_archive")
    assert meeting.name == meeting.state.name == "ops_archive"
