"""Web benchmark: requests per second and latency percentiles of a minutes page and of a search
(one connection, then 16 at once), over an archive of 10,000 meetings (50 lines each: 500,000
lines searched), served by the bot's own web site on SQLite and on a real PostgreSQL, loaded
with ``wrk`` (Debian) on loopback for a bounded time each.

Run: ``python bench/web.py [--quick] [--seconds N]`` (wrk from Debian: ``make servers``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from support.results import save  # noqa: E402  (bench/ is the script's folder)

from opsbot.bot import Bot  # noqa: E402
from opsbot.config import parse_config  # noqa: E402
from opsbot_plugins.meetings.engine import replay  # noqa: E402
from opsbot_plugins.meetings.files import write_outputs  # noqa: E402
from opsbot_plugins.meetings.models import LineRow, MeetingRow  # noqa: E402
from opsbot_plugins.meetings.paths import basename  # noqa: E402
from opsbot_plugins.meetings.transcript import read  # noqa: E402
from tests.integration.postgresserver import running_postgres  # noqa: E402

NAMES = [f"team_{i:02d}" for i in range(20)]
WORDS = [
    "nova",
    "neutron",
    "placement",
    "scheduler",
    "upgrade",
    "rollback",
    "cells",
    "quota",
    "cinder",
    "volume",
    "image",
    "glance",
    "keystone",
    "token",
    "region",
    "latency",
    "outage",
    "bisect",
    "patch",
    "review",
    "spec",
    "blueprint",
    "meetup",
    "agenda",
    "operators",
    "capacity",
    "migration",
    "libvirt",
    "kernel",
    "ceph",
    "rabbitmq",
    "database",
    "timeout",
    "retry",
]
SAMPLE = (
    ROOT
    / "tests"
    / "plugins"
    / "meetings"
    / "fixtures"
    / "ops_meetup_team.2026-11-24-14.00.log.txt"
)


async def fill(bot: Bot, output: Path, meetings: int, lines_each: int) -> str:
    """The archive: meetings and lines in the database, a minutes file per meeting on disk;
    returns the path of one minutes page."""
    rng = random.Random(5)
    sample = replay(read(SAMPLE).lines, "irc", "#ops")
    template, _ = write_outputs(sample, output / "_sample")
    sample_html = (output / "_sample" / f"{template}.html").read_bytes()
    start = datetime(2016, 1, 5, 14, 0, tzinfo=UTC)
    ids = itertools.count(1)
    rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    chosen = ""
    for m in range(meetings):
        meeting_id = next(ids)
        name = NAMES[m % len(NAMES)]
        when = start + timedelta(days=m // 3, hours=m % 3)
        base = basename(name, when)
        rows.append(
            {
                "id": meeting_id, "network": "irc", "room": "#ops", "channel": "#ops",
                "name": name, "started_at": when, "ended_at": when + timedelta(hours=1),
                "owner": "chair", "restricted": False, "base": base, "summary": {},
            }
        )  # fmt: skip
        for seq in range(lines_each):
            said = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14)))
            line_rows.append(
                {
                    "meeting_id": meeting_id, "seq": seq, "ts": when + timedelta(seconds=seq * 20),
                    "kind": "message", "nick": f"op{rng.randrange(300)}", "account": None,
                    "display": None, "text": said, "is_bot": False, "msg_id": None,
                    "target_id": None, "moderator": False,
                }
            )  # fmt: skip
        path = output / f"{base}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample_html)
        if m == meetings // 2:
            chosen = f"/meetings/{base}.html"
        if len(line_rows) >= 50_000:
            await _insert(bot, rows, line_rows)
            rows, line_rows = [], []
    await _insert(bot, rows, line_rows)
    async with bot.storage.engine.connect() as conn:  # planner statistics, as a live store has
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
        )
    return chosen


async def _insert(bot: Bot, rows: list[dict[str, Any]], lines: list[dict[str, Any]]) -> None:
    async with bot.storage.engine.begin() as conn:
        if rows:
            await conn.execute(insert(MeetingRow), rows)
        for start in range(0, len(lines), 10_000):
            await conn.execute(insert(LineRow), lines[start : start + 10_000])


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    found = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout  # fmt: skip
    figures = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", found)[1])}  # type: ignore[index]
    for percentile in ("50", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)\b", found).groups()  # type: ignore[union-attr]
        figures[f"p{percentile}_ms"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", found)
    figures["errors"] = float(errors[1]) if errors else 0.0
    return figures


async def run(meetings: int, lines_each: int, seconds: int) -> dict[str, Any]:
    """The same archive and load on SQLite, then on a real PostgreSQL."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make servers` installs it from Debian")
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-web-"))
    results = {
        "sqlite": await measure(
            f"sqlite+aiosqlite:///{folder}/web.db", meetings, lines_each, seconds
        )
    }
    with running_postgres() as server:
        url = server.create_database()
        results["postgresql"] = await measure(url, meetings, lines_each, seconds)
    return results


async def measure(url: str, meetings: int, lines_each: int, seconds: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-web-"))
    config = parse_config(
        {
            "database": {"url": url},
            "networks": [],
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "plugins": {"enabled": ["meetings"], "meetings": {"output_dir": str(folder / "out")}},
        },
        env={},
    )
    bot = Bot(config, transports=[])
    await bot.start()
    try:
        started = time.perf_counter()
        minutes = await fill(bot, folder / "out", meetings, lines_each)
        filled = time.perf_counter() - started
        assert bot.web is not None
        base = bot.web.base_url
        search = "/search?q=placement+rollback"
        results: dict[str, Any] = {"meetings": meetings, "lines": meetings * lines_each}
        results["fill_s"] = round(filled, 1)
        # wrk runs in its own process; the bot keeps serving in this event loop meanwhile
        for label, path in (("minutes_page", minutes), ("search", search)):
            for connections in (1, 16):
                results[f"{label}_c{connections}"] = await asyncio.to_thread(
                    wrk, base + path, seconds, connections
                )
        return results
    finally:
        await bot.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 meetings, 3 s each")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    meetings, seconds = (1_000, 3) if args.quick else (10_000, args.seconds)
    results = asyncio.run(run(meetings, 50, seconds))
    print(f"Web benchmark, one run: {meetings:,} meetings, {meetings * 50:,} lines")
    for store, figures in results.items():
        for label in ("minutes_page", "search"):
            for connections in (1, 16):
                f = figures[f"{label}_c{connections}"]
                print(
                    f"  {store}, {label}, {connections} connection{'s' * (connections > 1)}: "
                    f"{f['requests_per_s']:,.0f} requests/s, p50 {f['p50_ms']:.2f} ms, "
                    f"p99 {f['p99_ms']:.2f} ms, errors {f['errors']:.0f}"
                )
    save("web", results)


if __name__ == "__main__":
    main()
