"""Benchmark of meetings: durable ingest through the router, #endmeeting to files, replay.

1. A generated meeting (chatter plus #topic/#info/#action every few lines, 20 people) goes
   through the real bot over the memory transport with SQLite storage. Lines per second are
   counted until the last line is committed (every line durable), at 5,000, 20,000 and 100,000
   lines, so the rate can be compared across sizes.
2. The time from #endmeeting until every output file is complete (the logs, written as the
   meeting went, with their last lines and the HTML's foot; the four minutes files), for each
   size (the goal is 20 ms at any size), and until the meeting and its actions are stored.
   The script makes an item of every 10th line or so, so the minutes grow with the meeting.
3. ``opsbot meetings replay`` of a 10,000-line transcript as a whole process (median of runs).

Run: ``make bench`` or ``python bench/meetings.py [--quick]``. Results also go to
bench/results/meetings.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.results import save  # bench/ is the script's folder

import opsbot_plugins.meetings.files as files_module
from opsbot.bot import Bot
from opsbot.events import Message
from opsbot.files import write_atomically
from opsbot.testing import memory_config
from opsbot.transports.memory import MemoryTransport

TARGETS = {"lines_per_s": 10_000, "endmeeting_ms": 20, "replay_s": 0.3}
PEOPLE = [f"operator{i}" for i in range(20)]


def script(count: int) -> list[tuple[str, str]]:
    """``(nick, text)`` of a meeting of ``count`` lines, #startmeeting first, #endmeeting not included."""
    lines = [("chair", "#startmeeting bench meeting")]
    for i in range(1, count - 1):
        who = PEOPLE[i % len(PEOPLE)]
        if i % 97 == 0:
            lines.append(("chair", f"#topic topic number {i}"))
        elif i % 31 == 0:
            lines.append(("chair", f"#action {who} to follow up on item {i}"))
        elif i % 17 == 0:
            lines.append((who, f"#info the upgrade of cell {i} went fine <b>really</b>"))
        else:
            lines.append(
                (
                    who,
                    f"line {i}: nova-compute restarted cleanly after the upgrade on host {i % 40}",
                )
            )
    return lines


async def ingest(count: int, database_url: str | None = None) -> dict[str, float]:
    """``count`` lines through the bot, on SQLite or the database at ``database_url``."""
    with tempfile.TemporaryDirectory() as folder:
        more = {"database": {"url": database_url}} if database_url else None
        bot = Bot(memory_config(Path(folder) / "bench.db", config=more))
        await bot.start()
        gc.freeze()  # as `opsbot run` does once started
        transport = bot.transports["irc"]
        assert isinstance(transport, MemoryTransport)
        room = transport.room(transport.default_room_id)
        start_ts = datetime.now(UTC)
        messages = [
            Message(
                network="irc",
                room=room,
                sender=transport.identity(nick),
                text=text,
                ts=start_ts + timedelta(milliseconds=i),
            )
            for i, (nick, text) in enumerate(script(count))
        ]
        meetings = bot.plugins["meetings"]
        items = [
            text for _, text in script(count) if text.startswith(("#topic", "#action", "#info"))
        ]
        started = time.perf_counter()
        for msg in messages:
            await transport.deliver(msg)
        await bot.bus.drain()
        await meetings.store.writer.flush()  # type: ignore[attr-defined]
        ingest_s = time.perf_counter() - started
        end = Message(
            network="irc", room=room, sender=transport.identity("chair"), text="#endmeeting"
        )
        written: list[float] = []
        files_module.write_atomically = lambda *a, **k: (  # type: ignore[assignment]
            write_atomically(*a, **k),
            written.append(time.perf_counter()),
        )[0]
        started = time.perf_counter()
        await transport.deliver(end)
        await bot.bus.drain()
        done_ms = (time.perf_counter() - started) * 1000
        files_module.write_atomically = write_atomically
        assert len(written) == 4, "#endmeeting writes the four minutes files, not the logs"
        end_ms = (written[-1] - started) * 1000
        files = list((Path(folder) / "meetings").rglob("*.*"))
        assert len(files) == 6, files
        logged = (Path(folder) / "meetings").rglob("*.log.txt")
        assert sum(1 for _ in next(logged).open()) >= count, "every line must be in the log"
        [page] = (Path(folder) / "meetings").rglob("*.log.html")
        assert page.read_text().endswith("</html>\n"), "the HTML log must be complete"
        await bot.stop()
        return {
            "lines_per_s": len(messages) / ingest_s,
            "endmeeting_ms": end_ms,
            "endmeeting_all_done_ms": done_ms,
            "items": len(items),
        }


def replay_process(runs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "bench.2026-11-24-14.00.log.txt"
        t0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
        rows = [
            f"{(t0 + timedelta(seconds=i)):%H:%M:%S} <{nick}> {text}"
            for i, (nick, text) in enumerate(script(10_000))
        ]
        rows.append(f"{(t0 + timedelta(seconds=10_000)):%H:%M:%S} <chair> #endmeeting")
        log.write_text("\n".join(rows) + "\n")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "opsbot",
                    "meetings",
                    "replay",
                    str(log),
                    "--out",
                    f"{folder}/out",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(time.perf_counter() - started)
            assert "10000 lines" in done.stdout, done.stdout
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args()
    sizes = (1_000, 2_000, 4_000) if args.quick else (5_000, 20_000, 100_000)
    results = {size: asyncio.run(ingest(size)) for size in sizes}
    replay_s = replay_process(3 if args.quick else 7)
    small, _, large = sizes
    ratio = results[large]["lines_per_s"] / results[small]["lines_per_s"]
    print("opsbot meetings benchmark (memory transport, SQLite, every line committed)")
    for size in sizes:
        r = results[size]
        print(
            f"  {size:>7,} lines ({r['items']:,.0f} items): {r['lines_per_s']:>7,.0f} lines/s durable; "
            f"#endmeeting to 6 files complete: {r['endmeeting_ms']:6.1f} ms, "
            f"and stored with its actions: {r['endmeeting_all_done_ms']:6.1f} ms"
        )
    print(
        f"  rate at {large:,} lines vs {small:,}: {ratio:.2f}x (target: no slower, >= 1.0x within noise)"
    )
    print(
        f"  opsbot meetings replay, 10,000-line transcript, whole process: {replay_s:.3f} s (median; target < {TARGETS['replay_s']} s)"
    )
    met = {
        "ingest": all(r["lines_per_s"] >= TARGETS["lines_per_s"] for r in results.values()),
        "no_slowdown": ratio >= 0.9,
        "endmeeting": all(r["endmeeting_ms"] <= TARGETS["endmeeting_ms"] for r in results.values()),
        "replay": replay_s < TARGETS["replay_s"],
    }
    print("  targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in met.items()))
    save("meetings", {"sizes": results, "replay_s": replay_s, "met": met})


if __name__ == "__main__":
    main()
