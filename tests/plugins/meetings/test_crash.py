"""kill -9 the real bot mid-meeting: after a restart the meeting resumes and loses no line that
arrived more than 50 ms before the kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def start_bot(folder: Path) -> subprocess.Popen[str]:
    config = folder / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{folder}/bot.db'}}\n"
        f"log: {{file: {folder}/bot.log}}\n"
        "web: {listen: '127.0.0.1:0'}\n"
        f"plugins:\n  enabled: [core, meetings]\n  meetings: {{output_dir: {folder}/meetings}}\n"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "opsbot", "run", "-c", str(config)],
        cwd=folder,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def test_kill_9_mid_meeting_loses_nothing_older_than_50_ms(tmp_path: Path) -> None:
    bot = start_bot(tmp_path)
    assert bot.stdin is not None and bot.stdout is not None
    bot.stdin.write("#startmeeting crash test\n")
    assert bot.stdout.readline().startswith(
        "<opsbot> Meeting started"
    )  # the bot is up and chairing
    sent: list[tuple[float, str]] = []
    deadline = time.monotonic() + 1.5
    i = 0
    while time.monotonic() < deadline:  # ~500 lines a second: well within what the bot handles
        text = f"line {i} of the meeting"
        bot.stdin.write(text + "\n")
        sent.append((time.monotonic(), text))
        i += 1
        time.sleep(0.002)
    killed_at = time.monotonic()
    os.kill(bot.pid, signal.SIGKILL)
    assert bot.wait(timeout=10) == -signal.SIGKILL
    bot.stdin.close()
    bot.stdout.close()
    assert bot.stderr is not None
    bot.stderr.close()
    must_survive = [text for at, text in sent if at < killed_at - 0.05]
    assert len(must_survive) > 300

    restarted = subprocess.run(
        [sys.executable, "-m", "opsbot", "run", "-c", str(tmp_path / "config.yaml")],
        cwd=tmp_path,
        input="#endmeeting\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.startswith("<opsbot> Meeting ended"), restarted.stdout
    [log] = list((tmp_path / "meetings").rglob("*.log.txt"))
    logged = {line.split("> ", 1)[1] for line in log.read_text().splitlines() if "> " in line}
    missing = [text for text in must_survive if text not in logged]
    assert missing == []
    assert "resumed meeting crash_test" in (tmp_path / "bot.log").read_text()


async def test_a_line_kept_in_the_spool_of_a_killed_bot_is_stored_when_it_is_the_bot_again(
    tmp_path: Path,
) -> None:
    """In a group: the bot is killed with a line read but not committed (in its spool); another
    process goes on with the meeting, taking that line's place in the log; when the first is
    the bot again, its spool is stored: the line goes at the end of the log, late but not lost,
    and start-up does not fail on the taken place."""
    import asyncio
    from datetime import UTC, datetime

    from sqlalchemy import select

    from opsbot.state import MIGRATIONS
    from opsbot.storage import Storage
    from opsbot_plugins.meetings.engine import Line
    from opsbot_plugins.meetings.models import LineRow
    from opsbot_plugins.meetings.plugin import Meetings
    from opsbot_plugins.meetings.store import MeetingStore, line_row

    url = f"sqlite+aiosqlite:///{tmp_path}/group.db"

    async def store_of(spool: str) -> tuple[Storage, MeetingStore]:
        storage = Storage(url, spool_dir=tmp_path / spool)
        await storage.connect()
        await storage.migrate([("opsbot", MIGRATIONS), ("meetings", Meetings.migrations_dir())])
        store = MeetingStore(storage)
        await store.start()
        return storage, store

    def line(seq: int, text: str) -> dict[str, object]:
        said = Line(ts=datetime.now(UTC), nick="alice", text=text)
        said.seq = seq
        return line_row(meeting_id, said)

    first_storage, first = await store_of("first")
    meeting_id = await first.create("irc", "#ops", "#ops", "drill", datetime.now(UTC), "alice")
    first.writer.add(line(0, "stored by the first"))
    await first.writer.flush()

    async def refuse(items: object, conn: object) -> None:
        raise ConnectionError("killed before its commit")

    first.writer.write = refuse  # type: ignore[method-assign,assignment]
    first.writer.add(line(1, "read by the first, never committed"))
    await asyncio.sleep(0.2)  # in its spool, not in the database
    task, spool, lock = first.writer._task, first.writer.spool, first.writer._lock
    assert task is not None and spool is not None and lock is not None
    task.cancel()  # kill -9: no flush, no goodbye
    spool.close()
    lock.close()
    await first_storage.close()

    second_storage, second = await store_of("second")
    second.writer.add(line(1, "said to the second"))
    second.writer.add(line(2, "said to the second too"))
    await second.writer.stop()
    await second_storage.close()

    again_storage, again = await store_of("first")  # the first is the bot again
    async with again_storage.session() as session:
        texts = list(
            (await session.execute(select(LineRow.seq, LineRow.text).order_by(LineRow.seq))).all()
        )
    await again.writer.stop()
    await again_storage.close()
    assert [text for _, text in texts] == [
        "stored by the first",
        "said to the second",
        "said to the second too",
        "read by the first, never committed",
    ]
    assert [seq for seq, _ in texts] == [0, 1, 2, 3]
