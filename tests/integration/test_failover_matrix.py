"""The group on Matrix: two ``opsbot run`` processes with one config on one PostgreSQL and a real
Synapse; ``kill -9`` of the bot in the middle of a burst of lines, and the standby takes over:
it logs in (the device kept in the shared database), syncs from the token the bot stored,
answers once, and the minutes hold every line Synapse delivered, each once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

from .homeserver import Homeserver, MatrixPerson
from .postgresserver import PostgresServer
from .processes import spawn_opsbot
from .test_failover import logged, stop
from .test_matrix import unique


def start(
    folder: Path, name: str, url: str, homeserver: Homeserver, bot_id: str
) -> subprocess.Popen[bytes]:
    home = folder / name
    home.mkdir(exist_ok=True)
    config = {
        "bot": {"nick": "opsbot"},
        "database": {"url": url, "spool_dir": str(home / "spool"), "connect_timeout": 5},
        "log": {"file": str(home / "bot.log"), "level": "INFO"},
        "web": {"enabled": False},
        "networks": [
            {
                "type": "matrix",
                "name": "matrix",
                "homeserver": homeserver.url,
                "user_id": bot_id,
                "password": "bot-password",
                "invites": {"servers": ["localhost"]},
                "sync_timeout": 5,
                "retry": {"min_delay": 0.2, "max_delay": 1},
            }
        ],
        "plugins": {
            "enabled": ["core", "meetings"],
            "meetings": {"output_dir": str(folder / "meetings"), "url_prefix": "https://m.example"},
        },
    }
    return spawn_opsbot(home, config)


async def answered(alice: MatrixPerson, room_id: str, bot_id: str, within: float = 60) -> float:
    """Ask ``!ping`` until the bot answers; when it did."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        mark = len(alice.events)
        await alice.say(room_id, "!ping")
        try:
            await alice.wait_for(
                lambda e: e.sender == bot_id and "pong" in str(getattr(e, "body", "")),
                room_id,
                since=mark,
                within=1,
            )
            return time.monotonic()
        except TimeoutError:
            continue
    raise AssertionError("the bot never answered")


async def test_kill_9_of_the_bot_on_matrix_and_the_standby_takes_over(
    postgres: PostgresServer, homeserver: Homeserver, tmp_path: Path
) -> None:
    url = postgres.create_database()
    bot_id = homeserver.register(unique("opsbot"), "bot-password")
    alice = await MatrixPerson.connect(homeserver, unique("alice"))
    room_id = await alice.create_room(invite=[bot_id])
    first = start(tmp_path, "first", url, homeserver, bot_id)
    second: subprocess.Popen[bytes] | None = None
    said: list[str] = []
    try:
        await answered(alice, room_id, bot_id)
        second = start(tmp_path, "second", url, homeserver, bot_id)
        await logged(tmp_path / "second" / "bot.log", "standing by: opsbot ")
        mark = len(alice.events)
        await alice.say(room_id, "#startmeeting matrix failover")
        await alice.wait_for(
            lambda e: e.sender == bot_id and "Meeting started" in str(getattr(e, "body", "")),
            room_id,
            since=mark,
        )
        for i in range(100):
            said.append(f"line {i} before the kill")
            await alice.say(room_id, said[-1])
        killed = time.monotonic()
        os.kill(first.pid, signal.SIGKILL)  # lines still arriving: some synced, some not
        assert first.wait(timeout=10) == -signal.SIGKILL
        for i in range(100):
            said.append(f"line {i} after the kill")
            await alice.say(room_id, said[-1])
        took = await answered(alice, room_id, bot_id) - killed
        mark = len(alice.events)
        await alice.say(room_id, "#endmeeting")
        await alice.wait_for(
            lambda e: e.sender == bot_id and "Meeting ended" in str(getattr(e, "body", "")),
            room_id,
            since=mark,
            within=30,
        )
        await asyncio.sleep(2)
        ended = [e for e in alice.messages(room_id, bot_id) if "Meeting ended" in str(e.body)]
        assert len(ended) == 1, "one bot answers"
    finally:
        stop(first)
        if second is not None:
            stop(second)
        await alice.close()
    print(f"matrix failover: kill -9 to the standby answering: {took:.2f} s")
    [log] = list((tmp_path / "meetings").rglob("*.log.txt"))
    logged_texts = [row.split("> ", 1)[1] for row in log.read_text().splitlines() if "> " in row]
    assert [t for t in said if t not in logged_texts] == [], "no line Synapse delivered is lost"
    assert [t for t in logged_texts if t in said] == said, "each once, in order"
    assert "Traceback" not in (tmp_path / "second" / "bot.log").read_text()
