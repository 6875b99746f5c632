"""The database goes away mid-meeting, people keep talking, the bot is killed with kill -9
during the outage; the database and the bot come back: no line that reached the bot is lost.

All real: PostgreSQL 15 (our own server, stopped and started), InspIRCd + Atheme, and the bot as
its own ``opsbot run`` process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .etherpadserver import Etherpad
from .ircserver import IrcNetwork, Person
from .postgresserver import PostgresServer, running_postgres
from .processes import serving, spawn_opsbot

CHANNEL = "#ops"


@pytest.fixture
def database() -> Iterator[PostgresServer]:
    with running_postgres() as server:  # ours alone: this test stops and starts it
        yield server


@pytest.fixture(scope="module")
def irc() -> Iterator[IrcNetwork]:
    with serving(IrcNetwork(Path(tempfile.mkdtemp(prefix="opsbot-irc-outage-")))) as net:
        yield net


def start_bot(
    folder: Path,
    url: str,
    irc: IrcNetwork,
    pads: Etherpad | None = None,
    *,
    home: Path | None = None,
    web: int | None = None,
    meetings: dict[str, Any] | None = None,
) -> subprocess.Popen[bytes]:
    """``opsbot run`` with its config, spool and log in ``home`` (default ``folder``), the
    minutes in ``folder``/meetings (shared by processes of one group), its site on ``web``."""
    home = home or folder
    home.mkdir(exist_ok=True)
    config = {
        "bot": {"nick": "opsbot"},
        "database": {"url": url, "spool_dir": str(home / "spool"), "connect_timeout": 5},
        "log": {"file": str(home / "bot.log"), "level": "INFO"},
        "web": {"enabled": web is not None, "listen": f"127.0.0.1:{web or 0}"},
        "networks": [
            {
                "type": "irc",
                "name": "testnet",
                "host": "127.0.0.1",
                "port": irc.port,
                "tls": False,
                "nick": "opsbot",
                "channels": [CHANNEL],
                "flood": {"burst": 1000, "per_second": 1000},
            }
        ],
        "plugins": {
            "enabled": ["core", "meetings", *(["etherpad"] if pads else [])],
            "meetings": {
                "output_dir": str(folder / "meetings"),
                "url_prefix": "https://m.example",
                **(meetings or {}),
            },
        },
    }
    if pads is not None:
        config["plugins"]["etherpad"] = {  # type: ignore[index]
            "servers": {"ops": {"url": pads.url, "api_key": pads.api_key}},
            "pad": "outage-drill",
            "retry_min": 0.1,
            "retry_max": 0.5,
        }
    return spawn_opsbot(home, config)


async def said_by_bot(person: Person, text: str, since: int = 0, within: float = 30) -> str:
    return await person.wait_for(
        lambda line: line.startswith(":opsbot!") and text in line, within=within, since=since
    )


def written(folder: Path, pattern: str) -> list[Path]:
    return list((folder / "meetings").rglob(pattern))


async def bot_joined(person: Person) -> None:
    """The bot is in the channel and answering."""
    for _ in range(100):
        mark = len(person.lines)
        await person.say(CHANNEL, "!ping")
        try:
            await said_by_bot(person, "pong", since=mark, within=1)
            return
        except TimeoutError:
            continue
    raise AssertionError("the bot never answered in the channel")


async def test_a_database_outage_and_a_kill_9_lose_no_line(
    database: PostgresServer, irc: IrcNetwork, etherpad: Etherpad, tmp_path: Path
) -> None:
    pads = etherpad
    url = database.create_database()
    alice = await Person.connect(irc.port, "alice")
    bob = await Person.connect(irc.port, "bob")
    for person in (alice, bob):
        await person.send(f"JOIN {CHANNEL}")
    bot = start_bot(tmp_path, url, irc, pads)
    try:
        await bot_joined(alice)
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#startmeeting outage drill")
        await said_by_bot(alice, "Meeting started", since=mark)
        await alice.say(CHANNEL, "said while the database was up")
        await asyncio.sleep(0.5)

        database.stop()
        outage_mark = len(alice.lines)
        sent: list[tuple[float, str]] = []
        for i in range(60):
            person = (alice, bob)[i % 2]
            text = f"line {i} said while the database was away"
            if i == 20:
                text = "#topic what we do while the database is away"
            if i == 40:
                text = "#action bob checks the spool after the outage"
            await person.say(CHANNEL, text)
            sent.append((time.monotonic(), text))
            await asyncio.sleep(0.02)
        told = await said_by_bot(alice, "database is unreachable", since=outage_mark)
        assert "kept locally and will be stored when it returns" in told
        await asyncio.sleep(0.1)
        killed_at = time.monotonic()
        os.kill(bot.pid, signal.SIGKILL)
        assert bot.wait(timeout=10) == -signal.SIGKILL
        notices = [line for line in alice.lines[outage_mark:] if "database is unreachable" in line]
        assert len(notices) == 1, notices

        database.start()
        restarted_at = time.monotonic()
        bot = start_bot(tmp_path, url, irc, pads)
        await bot_joined(alice)
        stored_after = time.monotonic() - restarted_at
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=mark)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)
        await alice.quit()
        await bob.quit()

    must_survive = [text for at, text in sent if at < killed_at - 0.01]
    [log] = list((tmp_path / "meetings").rglob("*.log.txt"))
    logged = {row.split("> ", 1)[1] for row in log.read_text().splitlines() if "> " in row}
    missing = [text for text in must_survive if text not in logged]
    record = json.loads(next((tmp_path / "meetings").rglob("*.json")).read_text())
    print(
        f"outage figures: {len(sent)} lines said during the outage, "
        f"{len(sent) - len([t for _, t in sent if t not in logged])} kept, "
        f"{len(missing)} of {len(must_survive)} older than 10 ms lost; "
        f"bot restarted to answering (spool stored) in {stored_after:.2f} s"
    )
    assert missing == []
    assert record["topics"] == ["what we do while the database is away"]
    assert [a["text"] for a in record["actions"]] == ["bob checks the spool after the outage"]
    assert "said while the database was up" in logged
    for _ in range(100):  # the pad too: the action said during the outage reaches it, once
        pad = pads.text("outage-drill")
        if "bob checks the spool" in pad:
            break
        await asyncio.sleep(0.1)
    assert pad.count("ACTION (bob): bob checks the spool after the outage") == 1, pad
    assert not list((tmp_path / "spool").glob("*.jsonl")) or all(
        p.stat().st_size == 0 for p in (tmp_path / "spool").glob("*.jsonl")
    ), "the spool is emptied once the database has everything"
    text = (tmp_path / "bot.log").read_text()
    assert text.count("the database is unreachable") == 1, "one error line per outage"
    assert "Traceback" not in text
    stored = [row for row in text.splitlines() if "while the database was away" in row]
    print("recovery:", *(row.split("] ", 1)[-1] for row in stored))
    assert stored, "the restarted bot stored what the spool kept"


async def test_the_database_comes_back_while_the_bot_runs(
    database: PostgresServer, irc: IrcNetwork, tmp_path: Path
) -> None:
    url = database.create_database()
    alice = await Person.connect(irc.port, "carol")
    await alice.send(f"JOIN {CHANNEL}")
    bot = start_bot(tmp_path, url, irc)
    try:
        await bot_joined(alice)
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#startmeeting comeback")
        await said_by_bot(alice, "Meeting started", since=mark)
        await asyncio.sleep(0.5)  # the start's own queries (open action items) are done
        database.stop()
        mark = len(alice.lines)
        for i in range(20):
            await alice.say(CHANNEL, f"comeback line {i}")
        await said_by_bot(alice, "database is unreachable", since=mark)
        asked = len(alice.lines)
        await alice.say(CHANNEL, "!minutes comeback")
        answer = await said_by_bot(alice, "", since=asked)
        assert "The database is unreachable just now, and !minutes needs it" in answer, answer
        # The meeting ends while the database is still away: the minutes are written at once
        # and the room goes on (its lane never waits for the database).
        ended = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=ended)
        asked = len(alice.lines)
        await alice.say(CHANNEL, "!version")
        await said_by_bot(alice, "opsbot ", since=asked, within=5)  # the room goes on
        for _ in range(100):
            if written(tmp_path, "*.log.html"):
                break
            await asyncio.sleep(0.05)
        assert written(tmp_path, "*.log.html"), "the minutes are written during the outage"
        database.start()
        for _ in range(100):  # what waited is stored once the database is back
            if "the database is back after" in (tmp_path / "bot.log").read_text():
                break
            await asyncio.sleep(0.1)
        listed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "opsbot", "minutes", "list", "-c", str(tmp_path / "config.yaml")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert " comeback " in listed.stdout, listed
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)
        await alice.quit()
    [log] = written(tmp_path, "*.log.txt")
    assert all(f"comeback line {i}" in log.read_text() for i in range(20))
    text = (tmp_path / "bot.log").read_text()
    assert text.count("opsbot.storage: the database is unreachable") == 1
    assert text.count("the database is back after") == 1
    assert "Traceback" not in text and "Sorry" not in "".join(alice.lines)
