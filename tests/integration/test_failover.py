"""Two ``opsbot run`` processes with one config on one PostgreSQL: one is the bot, the other stands
by; ``kill -9`` of the bot mid-meeting, and the other takes over: it joins, answers, resumes the
meeting from the shared log, and the minutes hold every line either of them heard.

All real: PostgreSQL 15, InspIRCd + Atheme, the bots as their own processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from opsbot.testing import run_opsbot

from .ircserver import IrcNetwork, Person, free_port
from .netcut import CuttableLink
from .postgresserver import PostgresServer
from .processes import serving
from .test_outage import CHANNEL, bot_joined, said_by_bot, start_bot


@pytest.fixture(scope="module")
def irc() -> Iterator[IrcNetwork]:
    with serving(IrcNetwork(Path(tempfile.mkdtemp(prefix="opsbot-irc-failover-")))) as net:
        yield net


def start(
    folder: Path,
    name: str,
    url: str,
    irc: IrcNetwork,
    web: int | None = None,
    meetings: dict[str, Any] | None = None,
) -> subprocess.Popen[bytes]:
    """One process of the group: its own spool and log (and site on ``web``), the minutes
    folder shared."""
    return start_bot(folder, url, irc, home=folder / name, web=web, meetings=meetings)


def says(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()


async def logged(path: Path, text: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if says(path, text):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never said {text!r}")


async def readyz(port: int) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as got:
        return got.status


class LiveWatcher:
    """A browser on the live page of the one meeting in progress at ``port``: follows its
    server-sent events, reconnecting with ``Last-Event-ID`` as EventSource does, until ``end``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.texts: list[str] = []
        self.connections = 0
        self._open = asyncio.Event()
        self.task = asyncio.create_task(self._follow())

    async def started(self) -> None:
        await asyncio.wait_for(self._open.wait(), 15)

    async def _meeting_id(self, http: aiohttp.ClientSession) -> str:
        for _ in range(150):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{self.port}/meetings/") as got:
                    page = await got.text()
                if "/meetings/live/" in page:
                    return page.split("/meetings/live/", 1)[1].split('"', 1)[0]
            await asyncio.sleep(0.1)
        raise AssertionError("no meeting in progress on the site")

    async def _follow(self) -> list[str]:
        last = "-1"
        async with aiohttp.ClientSession() as http:
            meeting_id = await self._meeting_id(http)
            url = f"http://127.0.0.1:{self.port}/meetings/live/{meeting_id}/events"
            while True:
                try:
                    async with http.get(url, headers={"Last-Event-ID": last}) as response:
                        if response.status != 200:
                            raise aiohttp.ClientError(f"HTTP {response.status}")
                        self.connections += 1
                        self._open.set()
                        async for raw in response.content:
                            line = raw.decode().rstrip("\n")
                            if line.startswith("id: "):
                                last = line[4:]
                            elif line.startswith("event: end"):
                                return self.texts
                            elif line.startswith("data: {") and '"text"' in line:
                                self.texts.append(json.loads(line[6:])["text"])
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(0.2)  # EventSource's retry, shortened


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


async def test_kill_9_of_the_bot_and_the_standby_takes_over_the_meeting(
    postgres: PostgresServer, irc: IrcNetwork, tmp_path: Path
) -> None:
    url = postgres.create_database()
    alice = await Person.connect(irc.port, "alice")
    await alice.send(f"JOIN {CHANNEL}")
    first = start(tmp_path, "first", url, irc)
    second: subprocess.Popen[bytes] | None = None
    try:
        await bot_joined(alice)
        site = free_port()
        second = start(tmp_path, "second", url, irc, web=site)
        await logged(tmp_path / "second" / "bot.log", "standing by: serving the site")
        assert await readyz(site) == 200, "a standby serves the site from the shared database"
        shown = await asyncio.to_thread(
            run_opsbot, "status", "-c", str(tmp_path / "first" / "config.yaml")
        )
        assert shown.returncode == 0, shown.stderr
        group = [line for line in shown.stdout.splitlines() if line.startswith("opsbot ")]
        assert len(group) == 2, shown.stdout
        assert f"pid {first.pid}: the bot since " in group[0], shown.stdout
        assert group[0].endswith(" ago, for testnet"), shown.stdout
        assert f"pid {second.pid}: standing by, serving the site" in group[1], shown.stdout
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#startmeeting failover drill")
        await said_by_bot(alice, "Meeting started", since=mark)
        watcher = LiveWatcher(site)
        await watcher.started()  # the live page, on the standby's site
        before = [f"line {i} heard by the first" for i in range(250)]
        for text in before:
            await alice.say(CHANNEL, text)
        await alice.say(CHANNEL, "#action alice checks the standby")
        await asyncio.sleep(1)  # every line stored (group commit: milliseconds)

        killed = time.monotonic()
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        await bot_joined(alice)  # the standby: connected, joined, answering
        took = time.monotonic() - killed
        assert await readyz(site) == 200, "the new bot serves its site and is ready"
        after = [f"line {i} heard by the second" for i in range(250)]
        for text in after:
            await alice.say(CHANNEL, text)
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=mark)
        await asyncio.sleep(1)
        ended = [line for line in alice.lines[mark:] if "Meeting ended" in line]
        assert len(ended) == 1, "one bot answers"
        watched = await asyncio.wait_for(watcher.task, 30)
    finally:
        stop(first)
        if second is not None:
            stop(second)
        await alice.quit()

    print(f"failover: kill -9 to the standby answering in the channel: {took:.2f} s")
    assert took < 15, f"took over in {took:.1f} s"
    [log] = list((tmp_path / "meetings").rglob("*.log.txt"))
    said = {row.split("> ", 1)[1] for row in log.read_text().splitlines() if "> " in row}
    assert [t for t in before + after if t not in said] == [], "no line either bot heard is lost"
    assert [t for t in watched if t in before + after] == before + after, (
        "the live page, on the standby then on the bot it became, showed every line once"
    )
    assert watcher.connections >= 2, "the page reconnected when the standby's site gave way"
    record = json.loads(next((tmp_path / "meetings").rglob("*.json")).read_text())
    assert [a["text"] for a in record["actions"]] == ["alice checks the standby"]
    text = (tmp_path / "second" / "bot.log").read_text()
    assert "holds the lease: this process is the bot" in text and "Traceback" not in text


async def test_a_holder_cut_from_the_database_fences_itself_before_another_takes_the_lease(
    postgres: PostgresServer,
) -> None:
    import asyncpg

    from opsbot.lease import LOCK_KEY, Lease

    url = postgres.create_database()
    fenced = asyncio.Event()
    holder = Lease(url, fence=fenced.set)
    other = Lease(url)
    never = asyncio.Event()
    assert await holder.acquire(never)
    waiting = asyncio.create_task(other.acquire(never))
    await asyncio.sleep(1.5)
    assert not waiting.done(), "the lease is held: the other stands by"

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(plain)
    try:
        cut = time.monotonic()
        killed = await admin.fetchval(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND objid = $1",
            LOCK_KEY,
        )
        assert killed
        await asyncio.wait_for(fenced.wait(), 5)
        fenced_after = time.monotonic() - cut
        assert await asyncio.wait_for(waiting, 10)
        taken_after = time.monotonic() - cut
    finally:
        await admin.close()
        await holder.release()
        await other.release()
    print(f"lease: fenced {fenced_after:.2f} s after its connection was cut; "
          f"the standby held it {taken_after:.2f} s after")  # fmt: skip
    assert fenced_after < 2.5


async def test_the_database_restarted_under_the_group(irc: IrcNetwork, tmp_path: Path) -> None:
    from .postgresserver import running_postgres

    with running_postgres() as database:  # ours alone: stopped and started here
        url = database.create_database()
        alice = await Person.connect(irc.port, "dora")
        await alice.send(f"JOIN {CHANNEL}")
        first = start(tmp_path, "first", url, irc)
        second: subprocess.Popen[bytes] | None = None
        try:
            await bot_joined(alice)
            second = start(tmp_path, "second", url, irc)
            await logged(tmp_path / "second" / "bot.log", "standing by: opsbot ")
            mark = len(alice.lines)
            await alice.say(CHANNEL, "#startmeeting restart drill")
            await said_by_bot(alice, "Meeting started", since=mark)
            await alice.say(CHANNEL, "said before the restart")
            await asyncio.sleep(1)

            stopped = time.monotonic()
            database.stop()
            code = await asyncio.to_thread(first.wait, 15)
            fenced = time.monotonic() - stopped
            assert code == 75, "the bot that lost its lease connection stopped (fenced)"
            database.start()
            await bot_joined(alice)
            await alice.say(CHANNEL, "said after the restart")
            mark = len(alice.lines)
            await alice.say(CHANNEL, "#endmeeting")
            await said_by_bot(alice, "Meeting ended", since=mark)
        finally:
            stop(first)
            if second is not None:
                stop(second)
            await alice.quit()
    print(f"database restart: the bot fenced itself {fenced:.2f} s after the database stopped")
    assert fenced < 5
    [log] = [p for p in (tmp_path / "meetings").rglob("*.log.txt") if "restart_drill" in p.name]
    text = log.read_text()
    assert "said before the restart" in text and "said after the restart" in text
    assert "lost the lease connection" in (tmp_path / "first" / "bot.log").read_text()


async def test_a_bot_cut_from_the_database_stops_before_the_standby_takes_over(
    postgres: PostgresServer, irc: IrcNetwork, tmp_path: Path
) -> None:
    """The bot reaches PostgreSQL through a link that is then cut (nothing passes, nobody is
    told); the standby reaches it directly. The bot fences itself (exit 75) before the standby
    holds the lease, which PostgreSQL frees only when its keepalives find the bot gone."""
    url = postgres.create_database()
    link = CuttableLink(postgres.host, postgres.port)
    port = await link.start()
    cut_url = url.replace(f":{postgres.port}/", f":{port}/")
    alice = await Person.connect(irc.port, "erin")
    await alice.send(f"JOIN {CHANNEL}")
    first = start(tmp_path, "first", cut_url, irc)
    second: subprocess.Popen[bytes] | None = None
    try:
        await bot_joined(alice)
        second = start(tmp_path, "second", url, irc)
        await logged(tmp_path / "second" / "bot.log", "standing by: opsbot ")
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#startmeeting cut drill")
        await said_by_bot(alice, "Meeting started", since=mark)
        await alice.say(CHANNEL, "said before the cut")
        await asyncio.sleep(1.5)  # stored, and the bot has counted the standby

        cut = time.monotonic()
        link.cut(server_notices_after=8)  # the lease's keepalives: 5 s idle, 3 probes 1 s apart
        fenced = taken = None
        second_log = tmp_path / "second" / "bot.log"
        while time.monotonic() - cut < 30 and taken is None:
            if fenced is None and first.poll() is not None:
                fenced = time.monotonic() - cut
            if says(second_log, "holds the lease: this process is the bot"):
                taken = time.monotonic() - cut
            await asyncio.sleep(0.05)
        assert first.wait(timeout=10) == 75, "the bot cut from its database stopped (fenced)"
        await bot_joined(alice)
        await alice.say(CHANNEL, "said after the takeover")
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=mark)
        await asyncio.sleep(1)
        assert sum("Meeting ended" in line for line in alice.lines[mark:]) == 1, "one bot answers"
    finally:
        stop(first)
        if second is not None:
            stop(second)
        await link.close()
        await alice.quit()
    print(f"cut link: the bot fenced itself {fenced} s after the cut, the standby held the "
          f"lease {taken} s after")  # fmt: skip
    assert fenced is not None and taken is not None and fenced < taken
    assert fenced < 3
    [log] = [p for p in (tmp_path / "meetings").rglob("*.log.txt") if "cut_drill" in p.name]
    text = log.read_text()
    assert "said before the cut" in text and "said after the takeover" in text
    assert "lost the lease connection" in (tmp_path / "first" / "bot.log").read_text()


DRILL_BEFORE = [
    ("alice", "#topic before the kill"),
    ("bob", "the scheduler fell over at 400 nodes"),
    ("alice", "#info the conductor's RPC timeout is the root cause"),
    ("alice", "#action bob files the bug with the logs"),
    ("alice", "#chair bob"),
    ("alice", "#startvote Roll back placement? yes, no"),
    ("alice", "#vote yes"),
]
DRILL_AFTER = [
    ("bob", "#vote no"),
    ("carol", "#vote yes"),
    ("bob", "#endvote"),
    ("bob", "#topic after the kill"),
    ("alice", "#agreed roll back placement"),
    ("carol", "#link https://bugs.launchpad.net/nova/+bug/2045678 the bug"),
    ("alice", "#action carol writes the upgrade note"),
]
TIMES = re.compile(r"\d{4}-\d{2}-\d{2}(-\d{2}\.\d{2})?|\d{2}:\d{2}(:\d{2})?")


async def drill(
    irc: IrcNetwork, folder: Path, url: str, nicks: tuple[str, str, str], kill: bool
) -> dict[str, str]:
    """The same meeting, with the bot killed in its middle (a standby taking over) or not;
    its minutes with times and dates masked."""
    people = [await Person.connect(irc.port, nick) for nick in nicks]
    names = dict(zip(("alice", "bob", "carol"), people, strict=True))
    for person in people:
        await person.send(f"JOIN {CHANNEL}")
    first = start(folder, "first", url, irc)
    second: subprocess.Popen[bytes] | None = None
    alice = names["alice"]
    try:
        await bot_joined(alice)
        if kill:
            second = start(folder, "second", url, irc)
            await logged(folder / "second" / "bot.log", "standing by: opsbot ")
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#startmeeting ops drill")
        await said_by_bot(alice, "Meeting started", since=mark)
        for who, text in DRILL_BEFORE:
            await names[who].say(CHANNEL, text.replace("bob", nicks[1]).replace("carol", nicks[2]))
            await asyncio.sleep(0.1)  # three connections: the server keeps no order among them
        await asyncio.sleep(1)
        if kill:
            mark = len(alice.lines)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            await alice.wait_for(  # the standby, in the channel: no ping in the meeting's log
                lambda line: line.startswith(":opsbot!") and " JOIN " in line, since=mark, within=30
            )
            await asyncio.sleep(0.5)
        for who, text in DRILL_AFTER:
            await names[who].say(CHANNEL, text.replace("bob", nicks[1]).replace("carol", nicks[2]))
            await asyncio.sleep(0.1)  # three connections: the server keeps no order among them
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=mark)
        await asyncio.sleep(1)
    finally:
        stop(first)
        if second is not None:
            stop(second)
        for person in people:
            await person.quit()
    minutes = {}
    for extension in (".txt", ".html", ".md"):
        [path] = [p for p in (folder / "meetings").rglob(f"*{extension}") if ".log." not in p.name]
        text = path.read_text()
        for nick, plain in zip(nicks, ("alice", "bob", "carol"), strict=True):
            text = text.replace(nick, plain)
        minutes[extension] = TIMES.sub("T", text)
    return minutes


async def test_the_minutes_of_a_meeting_failed_over_are_those_of_an_uninterrupted_one(
    postgres: PostgresServer, irc: IrcNetwork, tmp_path: Path
) -> None:
    """The bot killed between a vote's opening and its votes: the standby resumes the meeting
    from the shared log, and the minutes (text, HTML, Markdown) come out as when nothing
    happened, but for the times."""
    (tmp_path / "whole").mkdir()
    (tmp_path / "killed").mkdir()
    whole = await drill(
        irc, tmp_path / "whole", postgres.create_database(), ("al1", "bo1", "ca1"), False
    )
    killed = await drill(
        irc, tmp_path / "killed", postgres.create_database(), ("al2", "bo2", "ca2"), True
    )
    assert "Roll back placement?" in whole[".txt"] and "yes: 2" in whole[".txt"].replace('"', "")
    for extension in whole:
        assert killed[extension] == whole[extension], extension
