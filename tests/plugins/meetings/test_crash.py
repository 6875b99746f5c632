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
