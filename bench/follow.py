"""Benchmark of a group's site: the live page served by a process standing by, and what a
standby costs the bot.

1. Live page latency: two ``opsbot run`` processes on one PostgreSQL and a real InspIRCd, the
   standby serving the site. A browser-like client follows the meeting's live page on the
   standby (server-sent events); alice says lines at 20 a second; for each line, the time from
   alice sending it to the standby's page showing it. Once with the standby woken by the bot's
   ``NOTIFY`` (``live_follow: notify``, the default), once reading on a timer
   (``live_follow: poll`` at 0.25 s).
2. Meetings throughput on PostgreSQL (the meetings benchmark's ingest: memory transport, every
   line committed) with the bot alone, and with a second process standing by, serving the site
   and following the meeting with a live page open.

Run: ``python bench/follow.py [--lines N]`` as root (PostgreSQL and InspIRCd are started for it).
Figures also go to bench/results/follow.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from meetings import ingest  # noqa: E402  (bench/ is the script's folder)
from support.results import save  # noqa: E402

from opsbot.state import MIGRATIONS  # noqa: E402
from opsbot.storage import Storage  # noqa: E402
from opsbot_plugins.core.plugin import Core  # noqa: E402
from opsbot_plugins.meetings.plugin import Meetings  # noqa: E402
from tests.integration.ircserver import IrcNetwork, Person, free_port  # noqa: E402
from tests.integration.postgresserver import running_postgres  # noqa: E402
from tests.integration.processes import serving  # noqa: E402
from tests.integration.test_failover import logged, start, stop  # noqa: E402
from tests.integration.test_outage import CHANNEL, bot_joined, said_by_bot  # noqa: E402


async def live_latency(
    url: str, irc: IrcNetwork, folder: Path, mode: str, count: int
) -> dict[str, float]:
    follow = {"live_follow": mode, "live_poll_seconds": 0.25 if mode == "poll" else 2.0}
    site = free_port()
    bot = start(folder, f"bot-{mode}", url, irc, meetings=follow)
    alice = await Person.connect(irc.port, f"alice{mode}")
    await alice.send(f"JOIN {CHANNEL}")
    standby = start(folder, f"standby-{mode}", url, irc, web=site, meetings=follow)
    try:
        await bot_joined(alice)
        await logged(folder / f"standby-{mode}" / "bot.log", "standing by: serving the site")
        mark = len(alice.lines)
        await alice.say(CHANNEL, f"#startmeeting follow {mode}")
        await said_by_bot(alice, "Meeting started", since=mark)
        seen: dict[str, float] = {}
        opened = asyncio.Event()

        async def watch() -> None:
            async with aiohttp.ClientSession() as http:
                while True:
                    async with http.get(f"http://127.0.0.1:{site}/meetings/") as got:
                        page = await got.text()
                    if "/meetings/live/" in page:
                        break
                    await asyncio.sleep(0.05)
                meeting_id = page.split("/meetings/live/", 1)[1].split('"', 1)[0]
                events = f"http://127.0.0.1:{site}/meetings/live/{meeting_id}/events"
                async with http.get(events) as response:
                    opened.set()
                    async for raw in response.content:
                        line = raw.decode()
                        if line.startswith("data: {") and '"text"' in line:
                            seen[json.loads(line[6:])["text"]] = time.monotonic()
                        elif line.startswith("event: end"):
                            return

        watching = asyncio.create_task(watch())
        await asyncio.wait_for(opened.wait(), 30)
        await asyncio.sleep(0.5)
        sent: dict[str, float] = {}
        for i in range(count):
            text = f"{mode} line {i}"
            sent[text] = time.monotonic()
            await alice.say(CHANNEL, text)
            await asyncio.sleep(0.05)
        await asyncio.sleep(3)
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=mark)
        await asyncio.wait_for(watching, 30)
    finally:
        stop(bot)
        stop(standby)
        await alice.quit()
    latencies = sorted((seen[t] - sent[t]) * 1000 for t in sent if t in seen)
    return {
        "lines": count,
        "shown": len(latencies),
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "max_ms": latencies[-1],
    }


async def standby_process(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A process standing by on the bench's database (as ``opsbot run`` does while another
    holds the lease): the site, following meetings in progress."""
    port = free_port()
    config = {
        "database": {"url": url},
        "web": {"enabled": True, "listen": f"127.0.0.1:{port}"},
        "networks": [],
        "plugins": {
            "enabled": ["core", "meetings"],
            "meetings": {"output_dir": str(folder / "meetings")},
        },
    }
    path = folder / "standby.json"
    path.write_text(json.dumps(config))
    code = (
        "import asyncio, sys\n"
        "from opsbot.bot import Bot\n"
        "from opsbot.config import load_config\n"
        "from opsbot.standby import Standby\n"
        "async def main():\n"
        "    config = load_config(sys.argv[1])\n"
        "    standby = Standby(config, lambda: Bot(config, transports=[]))\n"
        "    standby.start()\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as got:
                    if got.status == 200:
                        return process, port
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("the standby never served the site")


async def watch_all(port: int, stop_watching: asyncio.Event) -> int:
    """Keep the live page of whatever meeting runs open on the standby; lines shown."""
    shown = 0
    async with aiohttp.ClientSession() as http:
        while not stop_watching.is_set():
            async with http.get(f"http://127.0.0.1:{port}/meetings/") as got:
                page = await got.text()
            if "/meetings/live/" not in page:
                await asyncio.sleep(0.02)
                continue
            meeting_id = page.split("/meetings/live/", 1)[1].split('"', 1)[0]
            url = f"http://127.0.0.1:{port}/meetings/live/{meeting_id}/events"
            async with http.get(url) as response:
                async for raw in response.content:
                    if raw.startswith(b"data: {"):
                        shown += 1
                    if raw.startswith(b"event: end") or stop_watching.is_set():
                        break
    return shown


async def throughput(url: str, folder: Path, size: int, with_standby: bool) -> dict[str, Any]:
    if not with_standby:
        return await ingest(size, database_url=url)
    storage = Storage(url)  # migrated first, as the bot of a group does before standbys serve
    await storage.connect()
    await storage.migrate(
        [
            ("opsbot", MIGRATIONS),
            ("core", Core.migrations_dir()),
            ("meetings", Meetings.migrations_dir()),
        ]
    )
    await storage.close()
    process, port = await standby_process(url, folder)
    stop_watching = asyncio.Event()
    watcher = asyncio.create_task(watch_all(port, stop_watching))
    try:
        figures = await ingest(size, database_url=url)
    finally:
        stop_watching.set()
        process.kill()
        process.wait()
        watcher.cancel()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="opsbot-follow-bench-"))

    async def run() -> dict[str, Any]:
        with (
            running_postgres() as database,
            serving(IrcNetwork(Path(tempfile.mkdtemp(prefix="opsbot-irc-bench-")))) as irc,
        ):
            live = {
                mode: await live_latency(database.create_database(), irc, folder, mode, args.lines)
                for mode in ("notify", "poll")
            }
            rates: dict[str, dict[str, Any]] = {}
            for size in (5_000, 20_000):
                for standby in (False, True):
                    key = f"{size} {'with a standby' if standby else 'alone'}"
                    rates[key] = await throughput(database.create_database(), folder, size, standby)
            return {"live": live, "throughput": rates}

    figures = asyncio.run(run())
    print("opsbot group site benchmark (PostgreSQL 15, InspIRCd, real processes; one run)")
    for mode, f in figures["live"].items():
        print(
            f"  live page on the standby, {mode:6}: said -> shown median {f['median_ms']:.1f} ms, "
            f"p95 {f['p95_ms']:.1f} ms, max {f['max_ms']:.1f} ms ({f['shown']}/{f['lines']} shown)"
        )
    for key, f in figures["throughput"].items():
        print(
            f"  meetings ingest on PostgreSQL, {key}: {f['lines_per_s']:,.0f} lines/s durable; "
            f"#endmeeting {f['endmeeting_ms']:.0f} ms"
        )
    save("follow", figures)


if __name__ == "__main__":
    main()
