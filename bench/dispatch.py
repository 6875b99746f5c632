"""Benchmark of the core: events through bus and router, start-up, idle memory.

Over the memory transport with every bundled plugin loaded, measures messages per second through
bus and router for plain chatter and for commands, and the handling latency of single messages
(p50/p99). Beside each figure, the same measurement of a bare asyncio.Queue with a no-op consumer,
taken in the same run, gives the framework's cost as a ratio. Then it starts the real
``opsbot run`` on the console room several times and measures the time from launch to the answer
to ``!ping``, and the process's resident memory once idle.

Run: ``make bench`` (or ``python bench/dispatch.py [--quick]``). Figures go to standard output
and to bench/results/dispatch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil
from support.results import save  # bench/ is the script's folder

from opsbot.bot import Bot
from opsbot.events import Message
from opsbot.testing import BUNDLED_PLUGINS, memory_config
from opsbot.transports.memory import MemoryTransport

TARGETS = {
    "chatter_per_s": 50_000,
    "commands_per_s": 10_000,
    "startup_s": 1.0,
    "idle_rss_mb": 60,
}


def messages(transport: MemoryTransport, texts: list[str], count: int) -> list[Message]:
    room = transport.room(transport.default_room_id)
    people = [transport.identity(f"user{i}") for i in range(50)]
    return [
        Message(
            network=transport.name, room=room, sender=people[i % 50], text=texts[i % len(texts)]
        )
        for i in range(count)
    ]


async def rate(
    deliver: Callable[[Message], Awaitable[None]],
    drain: Callable[[], Awaitable[None]],
    batch: list[Message],
) -> float:
    start = time.perf_counter()
    for msg in batch:
        await deliver(msg)
    await drain()
    return len(batch) / (time.perf_counter() - start)


async def latencies(
    deliver: Callable[[Message], Awaitable[None]],
    drain: Callable[[], Awaitable[None]],
    batch: list[Message],
) -> tuple[float, float]:
    times = []
    for msg in batch:
        start = time.perf_counter()
        await deliver(msg)
        await drain()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.99)] * 1e6


class BareQueue:
    """The floor: an asyncio.Queue drained by one task that does nothing with each message."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        while True:
            await self.queue.get()
            self.queue.task_done()

    async def deliver(self, msg: Message) -> None:
        await self.queue.put(msg)

    async def drain(self) -> None:
        await self.queue.join()


async def in_process(count: int, single: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        bot = Bot(memory_config(Path(folder) / "bench.db", BUNDLED_PLUGINS))
        await bot.start()
        transport = bot.transports["irc"]
        assert isinstance(transport, MemoryTransport)
        bare = BareQueue()
        chatter = messages(
            transport,
            ["good morning, the upgrade to 2026.1 went fine", "any news on bug 123?"],
            count,
        )
        commands = messages(transport, ["!help ping", "!version"], count // 5)
        figures: dict[str, float] = {}
        # Warm up both paths, then measure each one right after its bare twin.
        await rate(transport.deliver, bot.bus.drain, chatter[:2000])
        await rate(bare.deliver, bare.drain, chatter[:2000])
        figures["bare_per_s"] = await rate(bare.deliver, bare.drain, chatter)
        figures["chatter_per_s"] = await rate(transport.deliver, bot.bus.drain, chatter)
        sent_before = len(transport.sent)
        figures["commands_per_s"] = await rate(transport.deliver, bot.bus.drain, commands)
        assert len(transport.sent) - sent_before == len(commands), "every command must be answered"
        figures["bare_p50_us"], figures["bare_p99_us"] = await latencies(
            bare.deliver, bare.drain, chatter[:single]
        )
        figures["chatter_p50_us"], figures["chatter_p99_us"] = await latencies(
            transport.deliver, bot.bus.drain, chatter[:single]
        )
        figures["command_p50_us"], figures["command_p99_us"] = await latencies(
            transport.deliver, bot.bus.drain, commands[:single]
        )
        bare.task.cancel()
        await bot.stop()
        return figures


def launch(folder: str, config: Path) -> tuple[float, float]:
    """Start `opsbot run` on the console room; seconds until it answers !ping, and its RSS (MiB)
    once idle; then end its input and check it exits 0."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbot", "run", "-c", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=folder,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("!ping\n")
    proc.stdin.flush()
    answer = proc.stdout.readline()
    seconds = time.perf_counter() - start
    assert answer == "<opsbot> pong\n", answer
    time.sleep(0.5)  # idle
    rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    return seconds, rss


def startup(runs: int) -> dict[str, float]:
    """First start on a new database (migrations run, so Alembic is loaded), then restarts on
    the migrated database (the steady state of a bot that lives for months)."""
    first_s, first_rss, again_s, again_rss = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "config.yaml"
            config.write_text(
                f"database: {{url: 'sqlite+aiosqlite:///{folder}/bot.db'}}\n"
                f"log: {{file: {folder}/bot.log}}\n"
            )
            seconds, rss = launch(folder, config)
            first_s.append(seconds)
            first_rss.append(rss)
            seconds, rss = launch(folder, config)
            again_s.append(seconds)
            again_rss.append(rss)
    return {
        "startup_s": statistics.median(again_s),
        "startup_max_s": max(again_s),
        "first_startup_s": statistics.median(first_s),
        "idle_rss_mb": statistics.median(again_rss),
        "first_idle_rss_mb": statistics.median(first_rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args()
    count, single, runs = (5_000, 300, 2) if args.quick else (50_000, 3_000, 5)
    figures = asyncio.run(in_process(count, single))
    figures.update(startup(runs))

    print(
        f"opsbot dispatch benchmark ({count} messages, {single} single-message timings, {runs} start-ups; plugins: {', '.join(BUNDLED_PLUGINS)})"
    )
    print(
        f"  chatter through bus+router : {figures['chatter_per_s']:>10,.0f} msg/s   (target >= {TARGETS['chatter_per_s']:,})"
    )
    print(
        f"  commands (parse+reply)     : {figures['commands_per_s']:>10,.0f} cmd/s   (target >= {TARGETS['commands_per_s']:,})"
    )
    print(
        f"  bare asyncio.Queue, no-op  : {figures['bare_per_s']:>10,.0f} msg/s   (chatter costs {figures['bare_per_s'] / figures['chatter_per_s']:.1f}x the bare queue)"
    )
    print(
        f"  latency chatter  p50/p99   : {figures['chatter_p50_us']:>7.0f} / {figures['chatter_p99_us']:.0f} us"
    )
    print(
        f"  latency command  p50/p99   : {figures['command_p50_us']:>7.0f} / {figures['command_p99_us']:.0f} us"
    )
    print(
        f"  latency bare     p50/p99   : {figures['bare_p50_us']:>7.0f} / {figures['bare_p99_us']:.0f} us"
    )
    print(
        f"  start-up to !ping answered : {figures['startup_s']:>10.2f} s     (restart, median; max {figures['startup_max_s']:.2f} s; target < {TARGETS['startup_s']} s)"
    )
    print(f"    first start, migrating   : {figures['first_startup_s']:>10.2f} s")
    print(
        f"  RSS idle                   : {figures['idle_rss_mb']:>10.1f} MiB   (restart; target < {TARGETS['idle_rss_mb']} MB)"
    )
    print(
        f"    first start, migrating   : {figures['first_idle_rss_mb']:>10.1f} MiB   (Alembic stays loaded after migrating)"
    )
    verdicts = {
        "chatter": figures["chatter_per_s"] >= TARGETS["chatter_per_s"],
        "commands": figures["commands_per_s"] >= TARGETS["commands_per_s"],
        "startup": figures["startup_s"] < TARGETS["startup_s"],
        "rss": figures["idle_rss_mb"] < TARGETS["idle_rss_mb"],
    }
    print(
        "  targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in verdicts.items())
    )
    save("dispatch", {"figures": figures, "targets": TARGETS, "met": verdicts})


if __name__ == "__main__":
    main()
