"""Hostile arguments to every command and to the command line: each gets a short, clear
answer, one line, never an apology for a failure, a traceback or silence where an answer is
due; nothing is lost or half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbot.testing import BotFactory, TestBot, run_opsbot

LONG = "x" * 5_000
HOSTILE = [
    '"unbalanced',
    "it's 'half",
    LONG,
    "ctl\x00\x01\x07\x1b[31mred",
    "2099-99-99",
    "ü" * 200,  # 400 bytes
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "-1",
    "99999999999999999999",
    "\u202eevil",
]
COMMANDS = [
    "help", "ping", "version", "plugins", "join", "part", "link", "whois", "actions", "done",
    "minutes", "kudos", "kudos top", "kudos undo", "kudos revoke", "kudos categories",
    "record", "next", "meetings", "skip", "skip ops_meetup_team", "schedule",
]  # fmt: skip
MEETING = [
    "#startmeeting", "#topic", "#meetingname", "#chair", "#unchair", "#nick", "#here",
    "#startvote", "#vote", "#action", "#info", "#link", "#motion",
]  # fmt: skip


@pytest.fixture
async def everything(bot_factory: BotFactory, tmp_path: Path) -> TestBot:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "ops.yaml").write_text(
        "project: Ops\nmeeting_id: ops_meetup_team\nschedule:\n"
        "  - {time: '1400', day: Tuesday, irc: test, frequency: weekly}\n"
    )
    return await bot_factory(
        plugins=("core", "meetings", "kudos", "records", "schedule"),
        config={"plugins": {"schedule": {"folder": str(folder)}}},
    )


def acceptable(replies: list[str]) -> str | None:
    """Why these answers are not a clear, short reply (None: they are)."""
    if any(r.startswith("Sorry, ") and "failed" in r for r in replies):
        return "a failure"
    if any("Traceback" in r or "Error:" in r for r in replies):
        return "an error's insides"
    if any(len(r.encode()) > 2_000 for r in replies):
        return "an answer of more than 2,000 bytes"
    return None


@pytest.mark.parametrize("argument", HOSTILE, ids=lambda a: repr(a[:12]))
async def test_every_command_answers_hostile_arguments_clearly(
    everything: TestBot, argument: str
) -> None:
    irc = everything.irc
    for name in COMMANDS:
        for account in ("alice", "admin"):
            replies = await irc.say(account, f"!{name} {argument}", account=account)
            wrong = acceptable(replies)
            assert wrong is None, (name, argument[:40], wrong, replies)
    replies = await irc.say("alice", "#startmeeting hostile")
    for text in MEETING:
        replies = await irc.say("alice", f"{text} {argument}")
        assert acceptable(replies) is None, (text, argument[:40], replies)
    replies = await irc.say("alice", "#endmeeting")
    assert any(r.startswith("Meeting ended") for r in replies), replies


CLI = [
    ("minutes", "show"),
    ("minutes", "list", "--since"),
    ("minutes", "list", "--name"),
    ("meetings", "regenerate"),
    ("kudos", "top", "--since"),
    ("kudos", "top", "--category"),
    ("kudos", "export", "--since"),
    ("records", "export", "--since"),
    ("records", "export", "--rule"),
    ("schedule", "next"),
    ("people", "show"),
    ("people", "split"),
    ("people", "export"),
    ("people", "forget"),
    ("audit", "--who"),
    ("audit", "--limit"),
]


@pytest.mark.parametrize("argument", ["2099-99-99", LONG, "ctl\x01\x1b[31m", '"unbalanced', "-1"])
def test_the_command_line_answers_hostile_arguments_clearly(tmp_path: Path, argument: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path}/bot.db'}}\n"
        "plugins: {enabled: [core, meetings, kudos, records, schedule],"
        f" schedule: {{folder: {tmp_path}}}}}\n"
    )
    for tool in CLI:
        done = run_opsbot(*tool, argument, "-c", str(config), cwd=tmp_path)
        assert done.returncode in (0, 1, 2), (tool, done.returncode)
        assert "Traceback" not in done.stderr, (tool, argument[:20], done.stderr[-2000:])
        # one line of our own, or click's four (usage, a hint, a blank, "Error: ...")
        lines = done.stderr.splitlines()
        assert len(lines) <= 4, (tool, done.stderr[:500])
        if done.returncode:
            assert lines and lines[-1].strip(), (tool, "an error says what is wrong")
