"""IRC benchmark on one InspIRCd + Atheme on loopback (flood limits off, TCP_NODELAY shim),
side by side in one run: a bare asyncio echo client (the floor) and opsbot as a real process.

Figures: command round trip (median, p99); meeting ingest in lines/s at 5,000 and 20,000 lines
with lost and out-of-order lines counted, and the bot's answer time to a command sent right
after the burst; ``#endmeeting`` until every output file exists; bot RSS at rest, after the big
meetings, and after 10 more meetings in a row.

The peers named in the issue (Limnoria + hcoop-meetbot, Sopel + sopel-meetbot) are not run yet;
their figures from ../shared/RECIPES.md, measured the same way on this kind of machine, are
printed beside ours for reference.

Run: ``python bench/irc_peers.py [--quick]`` (needs inspircd, atheme-services and gcc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.ircserver import IrcNetwork, Person  # noqa: E402

RECIPES = {
    "floor": {"rtt_median_ms": 0.21},
    "Limnoria + hcoop-meetbot": {
        "rtt_median_ms": 1.14,
        "ingest_5000": 3954,
        "ingest_20000": 3931,
        "end_5000_ms": 675,
        "end_20000_ms": 4300,
    },
    "Sopel + sopel-meetbot": {"rtt_median_ms": 0.77, "ingest_5000": 2043, "out_of_order_5000": 263},
}


def shim() -> str:
    out = Path(tempfile.gettempdir()) / "opsbot-nodelay.so"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O2",
            "-o",
            str(out),
            str(ROOT / "bench/support/nodelay.c"),
            "-ldl",
        ],
        check=True,
    )
    return str(out)


class EchoBot:
    """The floor: a bare asyncio client that answers '!ping' with 'pong'."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        seen = 0
        while True:
            await self.person.wait_for(
                lambda line: " PRIVMSG #bench :!ping" in line, within=3600, since=seen
            )
            seen = len(self.person.lines)
            await self.person.say("#bench", "pong")


async def round_trips(
    probe: Person, command: str, answer: str, samples: int
) -> tuple[float, float]:
    times = []
    for _ in range(samples):
        mark = len(probe.lines)
        start = time.perf_counter()
        await probe.say("#bench", command)
        await probe.wait_for(lambda line: answer in line, since=mark)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


async def keepalive(person: Person, stop: asyncio.Event) -> None:
    """An idle InspIRCd reads ~10 KB and sleeps; a busy network keeps it reading."""
    while not stop.is_set():
        await person.send("PING :k")
        await asyncio.sleep(0.003)


async def meeting(
    probe: Person, pinger: Person, folder: Path, name: str, lines: int
) -> dict[str, float]:
    mark = len(probe.lines)
    await probe.say("#bench", f"#startmeeting {name}")
    await probe.wait_for(
        lambda line: f"The meeting name has been set to '{name}'" in line, since=mark
    )
    stop = asyncio.Event()
    pinging = asyncio.create_task(keepalive(pinger, stop))
    assert probe._writer is not None
    start = time.perf_counter()
    chunk = 500
    for first in range(0, lines, chunk):
        probe._writer.write(
            b"".join(
                f"PRIVMSG #bench :line {i} of the meeting\r\n".encode()
                for i in range(first, min(lines, first + chunk))
            )
        )
        await probe._writer.drain()
    mark = len(probe.lines)
    await probe.say("#bench", "!version")
    await probe.wait_for(lambda line: "PRIVMSG #bench :opsbot " in line, within=600, since=mark)
    ingest = time.perf_counter() - start
    answer_start = time.perf_counter()
    mark = len(probe.lines)
    await probe.say("#bench", "!version")
    await probe.wait_for(lambda line: "PRIVMSG #bench :opsbot " in line, since=mark)
    answer_ms = (time.perf_counter() - answer_start) * 1000
    stop.set()
    await pinging
    end_start = time.perf_counter()
    await probe.say("#bench", "#endmeeting")
    outputs = folder / "meetings" / name
    while len(list(outputs.rglob("*.*"))) < 6:
        await asyncio.sleep(0.002)
    end_ms = (time.perf_counter() - end_start) * 1000
    log = next(outputs.rglob("*.log.txt")).read_text().splitlines()
    got = [
        int(line.split("line ", 1)[1].split(" ", 1)[0]) for line in log if "<probe> line " in line
    ]
    lost = lines - len(set(got))
    out_of_order = sum(1 for a, b in itertools.pairwise(got) if b < a)
    return {
        "lines_per_s": lines / ingest,
        "lost": lost,
        "out_of_order": out_of_order,
        "end_ms": end_ms,
        "answer_after_burst_ms": answer_ms,
    }


async def run(quick: bool) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-irc-"))
    net = IrcNetwork(folder / "net", bench=shim())
    (folder / "net").mkdir()
    net.start()
    results: dict[str, object] = {}
    samples = 50 if quick else 300
    try:
        probe = await Person.connect(net.port, "probe")
        pinger = await Person.connect(net.port, "pinger")
        await probe.send("JOIN #bench")
        floor_person = await Person.connect(net.port, "floor")
        await floor_person.send("JOIN #bench")
        await asyncio.sleep(0.3)
        echo = EchoBot(floor_person)
        results["floor"] = dict(
            zip(
                ("rtt_median_ms", "rtt_p99_ms"),
                await round_trips(
                    probe, "!ping", ":floor!floor@127.0.0.1 PRIVMSG #bench :pong", samples
                ),
                strict=True,
            )
        )
        echo.task.cancel()
        await floor_person.quit()

        bot_dir = folder / "opsbot"
        bot_dir.mkdir()
        config = bot_dir / "config.yaml"
        config.write_text(
            f"database: {{url: 'sqlite+aiosqlite:///{bot_dir}/bot.db'}}\n"
            f"log: {{file: {bot_dir}/bot.log, level: WARNING}}\n"
            "networks:\n"
            f"  - {{type: irc, name: bench, host: 127.0.0.1, port: {net.port}, tls: false, nick: opsbot,\n"
            "     channels: ['#bench'], flood: {burst: 100000, per_second: 100000}}\n"
            f"plugins: {{enabled: [core, meetings], meetings: {{output_dir: {bot_dir}/meetings}}}}\n"
        )
        mark = len(probe.lines)
        bot = subprocess.Popen(
            [sys.executable, "-m", "opsbot", "run", "-c", str(config)], cwd=bot_dir
        )
        await probe.wait_for(
            lambda line: line.startswith(":opsbot!") and " JOIN " in line, within=30, since=mark
        )
        await asyncio.sleep(0.5)
        process = psutil.Process(bot.pid)
        ours: dict[str, float] = {"rss_start_mb": process.memory_info().rss / 2**20}
        ours["rtt_median_ms"], ours["rtt_p99_ms"] = await round_trips(
            probe, "!version", ":opsbot!", samples
        )
        for size in (1_000, 4_000) if quick else (5_000, 20_000):
            figures = await meeting(probe, pinger, bot_dir, f"bench{size}", size)
            for key, value in figures.items():
                ours[f"{key}_{size}"] = value
        ours["rss_after_big_mb"] = process.memory_info().rss / 2**20
        for i in range(10):
            await meeting(probe, pinger, bot_dir, f"series{i}", 200)
        ours["rss_after_10_meetings_mb"] = process.memory_info().rss / 2**20
        results["opsbot"] = ours
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
        await probe.quit()
        await pinger.quit()
    finally:
        net.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    floor, ours = results["floor"], results["opsbot"]
    assert isinstance(floor, dict) and isinstance(ours, dict)
    print("IRC benchmark on InspIRCd + Atheme, loopback, flood limits off, one run")
    print(
        f"  command round trip, median / p99: floor {floor['rtt_median_ms']:.2f} / {floor['rtt_p99_ms']:.2f} ms; "
        f"opsbot {ours['rtt_median_ms']:.2f} / {ours['rtt_p99_ms']:.2f} ms ({ours['rtt_median_ms'] / floor['rtt_median_ms']:.2f}x the floor)"
    )
    for size in sorted({int(k.rsplit("_", 1)[1]) for k in ours if k.startswith("lines_per_s_")}):
        print(
            f"  {size:>6,} lines: {ours[f'lines_per_s_{size}']:>8,.0f} lines/s, lost {ours[f'lost_{size}']:.0f}, "
            f"out of order {ours[f'out_of_order_{size}']:.0f}; command answered {ours[f'answer_after_burst_ms_{size}']:.1f} ms after the burst; "
            f"#endmeeting to 6 files {ours[f'end_ms_{size}']:.0f} ms"
        )
    print(
        f"  RSS: {ours['rss_start_mb']:.1f} MiB at rest, {ours['rss_after_big_mb']:.1f} after the big meetings, "
        f"{ours['rss_after_10_meetings_mb']:.1f} after 10 more"
    )
    print(
        "  peers, from RECIPES.md (not run here): "
        + "; ".join(f"{name}: {figures}" for name, figures in RECIPES.items() if name != "floor")
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "irc_peers.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
