"""The logs on disk as a meeting goes: appended line by line, rewritten whole only when appending
cannot say what changed (an edit, a redaction, a new name or title, #restrictlogs), written again
from the database when a meeting resumes, and the same bytes as a log rendered afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opsbot.events import Redaction
from opsbot.testing import BotFactory, TestBot
from opsbot_plugins.meetings import render
from opsbot_plugins.meetings.engine import replay
from opsbot_plugins.meetings.paths import basename
from opsbot_plugins.meetings.render import Context, log_html, log_txt


def logs(tmp_path: Path) -> list[Path]:
    """The two log files (not a rewrite's temporary file beside them)."""
    found = (tmp_path / "meetings").rglob("*.log.*")
    return sorted(p for p in found if not p.name.startswith("."))


async def on_disk(tmp_path: Path, text: str, *, present: bool = True) -> str:
    """The .log.txt once it does (or no longer does) hold ``text``; fails after 5 s."""
    for _ in range(500):
        found = logs(tmp_path)
        for path in found:
            if path.name.endswith(".log.txt"):
                txt = path.read_text()
                if (text in txt) == present:
                    return txt
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text!r} {'never came to' if present else 'stayed in'} {found}")


async def test_each_line_is_on_disk_while_the_meeting_runs(bot: TestBot, tmp_path: Path) -> None:
    await bot.irc.say("alice", "#startmeeting ops")
    await bot.irc.say("bob", "the upgrade to 2026.2 broke the scheduler")
    txt = await on_disk(tmp_path, "<bob> the upgrade to 2026.2 broke the scheduler")
    assert txt.splitlines()[0].endswith("<alice> #startmeeting ops")
    [html] = [p for p in logs(tmp_path) if p.name.endswith(".log.html")]
    live = html.read_text()
    assert "the upgrade to 2026.2 broke the scheduler" in live and "</html>" not in live
    inode = html.stat().st_ino
    for i in range(30):
        await bot.irc.say("bob", f"line {i}")
    await on_disk(tmp_path, "<bob> line 29")
    assert html.stat().st_ino == inode, "plain lines are appended, never a rewrite"
    assert html.read_text().startswith(live)
    await bot.irc.say("alice", "#endmeeting")
    ended = html.read_text()
    assert ended.startswith(live) and ended.endswith("</body>\n</html>\n")
    assert len(list((tmp_path / "meetings").rglob("*.*"))) == 6


async def test_a_line_redacted_mid_meeting_leaves_the_disk_at_once(
    bot: TestBot, tmp_path: Path
) -> None:
    mx = bot.matrix
    room = mx.transport.room(mx.room)
    await mx.say("alice", "#startmeeting")
    said = await mx.transport.say("bob", "the root password is hunter2", id="$secret")
    await on_disk(tmp_path, "hunter2")
    await mx.transport.deliver(
        Redaction(network="matrix", room=room, sender=said.sender, target_id="$secret", id="$r")
    )
    txt = await on_disk(tmp_path, "hunter2", present=False)
    assert "[message removed]" in txt
    assert not any("hunter2" in p.read_text() for p in logs(tmp_path))
    await mx.say("bob", "after the redaction")
    await on_disk(tmp_path, "after the redaction")
    await mx.say("alice", "#endmeeting")
    pages = "".join(p.read_text() for p in (tmp_path / "meetings").rglob("*") if p.is_file())
    assert "hunter2" not in pages


async def test_a_new_name_moves_the_logs_and_restrictlogs_makes_them_private(
    bot: TestBot, tmp_path: Path
) -> None:
    await bot.irc.say("alice", "#startmeeting first")
    await bot.irc.say("bob", "said under the first name")
    await on_disk(tmp_path, "said under the first name")
    await bot.irc.say("alice", "#meetingname second")
    await bot.irc.say("bob", "said under the second name")
    txt = await on_disk(tmp_path, "said under the second name")
    assert "said under the first name" in txt
    assert {p.name.split(".")[0] for p in logs(tmp_path)} == {"second"}
    await bot.irc.say("alice", "#restrictlogs")
    await bot.irc.say("bob", "now private")
    await on_disk(tmp_path, "now private")
    for _ in range(100):
        if all(p.stat().st_mode & 0o777 == 0o600 for p in logs(tmp_path)):
            break
        await asyncio.sleep(0.01)
    assert [p.stat().st_mode & 0o777 for p in logs(tmp_path)] == [0o600, 0o600]
    await bot.irc.say("alice", "#endmeeting")


async def test_a_resumed_meeting_writes_its_logs_again_from_the_database(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    first = await bot_factory(database=db)
    await first.irc.say("alice", "#startmeeting ops")
    for i in range(20):
        await first.irc.say("bob", f"before the crash {i}")
    await on_disk(tmp_path, "before the crash 19")
    await first.bot.stop()
    for path in logs(tmp_path):  # what a crash can leave: a log cut short
        path.write_text(path.read_text()[:40])

    second = await bot_factory(database=db)
    txt = await on_disk(tmp_path, "before the crash 19")
    assert all(f"<bob> before the crash {i}\n" in txt for i in range(20))
    await second.irc.say("bob", "after the restart")
    await on_disk(tmp_path, "after the restart")
    await second.irc.say("alice", "#endmeeting")


async def test_the_live_logs_are_the_bytes_a_later_render_makes(
    bot: TestBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appended as the lines came, rewritten on an edit, footed at the end: the files equal the
    logs rendered afterwards from the database (what a regeneration or a crash recovery makes).
    The minutes too, though #endmeeting renders none of their items: each was rendered as it was
    recorded."""
    mx = bot.matrix
    await mx.say("alice", "#startmeeting parity")
    await mx.say("alice", "#meetingtopic The <b>upgrade</b> & more")
    await mx.say("alice", "#info before any topic")
    await mx.say("alice", "#topic Upgrades & <rollbacks>")
    for i in range(50):
        await mx.say("bob", f"line {i} <i>with</i> & markup")
        if i % 10 == 0:
            await mx.say("bob", f"#action bob to check host {i} *now*")
    await mx.say("carol", "#link https://bugs.example.org/1 the <bug>")
    await mx.say("carol", "#info the last word")
    rendered_at_the_end = []
    real = render.item_rows
    monkeypatch.setattr(
        render, "item_rows", lambda *args: rendered_at_the_end.append(args) or real(*args)
    )
    await mx.say("alice", "#endmeeting")
    assert rendered_at_the_end == []
    plugin = bot.bot.plugins["meetings"]
    store = plugin.store  # type: ignore[attr-defined]
    await store.writer.flush()
    [row] = await store.meetings(name="parity")
    meeting = replay(await store.lines(row.id), row.network, row.channel)
    assert meeting.started_at is not None
    base = basename(meeting.name, meeting.started_at)
    ctx = Context(meeting, base, "https://meetings.example.org", plugin.timezone)
    folder = tmp_path / "meetings"
    assert (folder / f"{base}.log.txt").read_text() == log_txt(ctx)
    assert (folder / f"{base}.log.html").read_text() == log_html(ctx)
    for extension, make in render.MINUTES.items():
        assert (folder / f"{base}{extension}").read_text() == make(ctx), extension


async def test_logs_deleted_mid_meeting_are_written_whole_again(
    bot: TestBot, tmp_path: Path
) -> None:
    """Someone removes the files while the meeting runs: the next append fails (it never
    creates a headless file), and the end writes both whole, from the first line."""
    await bot.irc.say("alice", "#startmeeting cleanup")
    await bot.irc.say("bob", "before the files went")
    await on_disk(tmp_path, "before the files went")
    for path in logs(tmp_path):
        path.unlink()
    await bot.irc.say("bob", "after the files went")
    await asyncio.sleep(0.1)
    await bot.irc.say("alice", "#endmeeting")
    txt = await on_disk(tmp_path, "after the files went")
    assert txt.splitlines()[0].endswith("<alice> #startmeeting cleanup")
    assert "<bob> before the files went" in txt
    [html] = [p for p in logs(tmp_path) if p.name.endswith(".log.html")]
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "before the files went" in page and "after the files went" in page
