"""Etherpad benchmark on a real Etherpad 1.8.14 (npm, dirty database) on loopback, with opsbot
in this process on a memory network and SQLite.

Figures: time from ``#action`` said in the channel until the line is readable through the pad's
API (median, p99; polled with getText), and pad operations delivered per second while catching
up after an outage (Etherpad stopped while the actions are recorded, then started again; from the
first line delivered to the last).

Run: ``python bench/etherpad.py [--quick]`` (needs Etherpad: ``make servers``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support.results import save  # noqa: E402  (bench/ is the script's folder)

from opsbot.bot import Bot  # noqa: E402
from opsbot.testing import TestBot, memory_config  # noqa: E402
from opsbot_plugins.etherpad.plugin import Etherpad as EtherpadPlugin  # noqa: E402
from tests.integration.etherpadserver import Etherpad  # noqa: E402


async def readable(server: Etherpad, pad: str, text: str, within: float = 10) -> None:
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if text in await asyncio.to_thread(server.text, pad):
            return
    raise TimeoutError(f"{text!r} never reached the pad")


async def run(quick: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-etherpad-"))
    server = Etherpad(folder / "etherpad")
    server.start()
    samples = 20 if quick else 100
    backlog = 100 if quick else 500
    settings = {
        "servers": {"ops": {"url": server.url, "api_key": server.api_key}},
        "pad": "bench",
        "retry_min": 0.05,
        "retry_max": 0.2,
    }
    config = memory_config(
        folder / "bot.db",
        ("core", "meetings", "etherpad"),
        {"plugins": {"etherpad": settings}},
    )
    bot = Bot(config)
    await bot.start()
    chat = TestBot(bot).irc
    plugin = bot.plugins["etherpad"]
    assert isinstance(plugin, EtherpadPlugin)
    results: dict[str, float] = {}
    try:
        await chat.say("alice", "#startmeeting bench")
        await plugin.outbox.idle()
        times = []
        for i in range(samples):
            start = time.perf_counter()
            await chat.say("alice", f"#action bob latency probe {i}")
            await readable(server, "bench", f"latency probe {i} —")
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        results["action_to_pad_median_ms"] = statistics.median(times)
        results["action_to_pad_p99_ms"] = times[min(len(times) - 1, int(len(times) * 0.99))]

        server.stop()
        for i in range(backlog):
            await chat.say("alice", f"#action bob backlog item {i}")
        await plugin.outbox.outbox.writer.flush()  # stored, not only spooled: what status counts
        waiting = (await plugin.outbox.status("ops", "bench")).waiting
        assert waiting >= backlog, f"only {waiting} of {backlog} lines wait for the pad"
        before = plugin.outbox.delivered
        server.start()
        while plugin.outbox.delivered == before:
            await asyncio.sleep(0.001)
        first = time.perf_counter()
        await plugin.outbox.idle()
        elapsed = time.perf_counter() - first
        text = server.text("bench")
        results["backlog_operations"] = float(waiting)
        results["catch_up_operations_per_s"] = (waiting - 1) / elapsed
        results["backlog_lines_in_pad_once"] = float(
            sum(text.count(f"backlog item {i} —") == 1 for i in range(backlog))
        )
    finally:
        await bot.stop()
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    print("Etherpad benchmark: Etherpad 1.8.14 (dirty DB) on loopback, opsbot on SQLite, one run")
    for key, value in results.items():
        print(f"  {key}: {value:,.2f}")
    save("etherpad", results)


if __name__ == "__main__":
    main()
