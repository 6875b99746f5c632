"""IRC benchmark, side by side in one run on one InspIRCd + Atheme on loopback (flood limits
off, TCP_NODELAY shim): a bare asyncio echo client (the floor), opsbot, Limnoria with
hcoop-meetbot (from PyPI, in its own venv under .servers/peers, its flood limits off), and Sopel
with sopel-meetbot.

Figures per bot: command round trip (median, p99); meeting ingest in lines/s at 5,000 and
20,000 lines with lost and out-of-order lines counted, and the answer time to a command sent
right after the burst; ``#endmeeting`` until every output file exists; RSS at rest, at the
peak of each big meeting (sampled every 10 ms), after them, and after 5 more meetings.

Sopel with sopel-meetbot comes from PyPI in a venv of Debian's Python and runs as a throwaway
system user (it refuses root), its flood settings raised.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support.results import save  # noqa: E402  (bench/ is the script's folder)

from tests.integration.ircserver import IrcNetwork, Person  # noqa: E402


def shim() -> str:
    out = Path(tempfile.gettempdir()) / "opsbot-nodelay.so"
    source = ROOT / "bench/support/nodelay.c"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(out), str(source), "-ldl"], check=True
    )
    return str(out)


@dataclass
class Contender:
    """A bot under measurement, as the probe sees it."""

    name: str
    nick: str
    command: str
    answer: str
    """Text in the bot's answer to ``command``."""
    started: str
    """Text in the bot's answer to #startmeeting."""
    outputs: Path
    files_per_meeting: int
    process: subprocess.Popen[bytes]
    start_command: str = "#startmeeting {name}"
    end_command: str = "#endmeeting"
    end_marker: str | None = None
    """For bots that create their files at the start: text the newest page has once ended."""
    sets_topic: bool = False
    """Answers #topic by changing the channel topic (what its round trip is timed by)."""

    def answered(self, line: str) -> bool:
        return line.startswith(f":{self.nick}!") and self.answer in line

    def ended(self, before: int) -> bool:
        if self.end_marker is None:
            return self.files() >= before + self.files_per_meeting
        pages = list(self.outputs.rglob("*.html"))
        return (
            bool(pages)
            and self.end_marker in max(pages, key=lambda p: p.stat().st_mtime).read_text()
        )

    def files(self) -> int:
        return len(list(self.outputs.rglob("*.*"))) if self.outputs.exists() else 0

    def logged(self) -> list[int]:
        """Numbers of the probe's 'line N' lines in the newest meeting log, in logged order."""
        logs = (
            [*self.outputs.rglob("*.log.json")]
            or [*self.outputs.rglob("*.log.txt")]
            or [*self.outputs.rglob("*.log")]
        )
        newest = max(logs, key=lambda p: p.stat().st_mtime)
        if newest.suffix == ".json":
            messages = json.loads(newest.read_text())["messages"]
            texts = [m["payload"] for m in messages if m["sender"] == "probe"]
        else:
            rows = newest.read_text().splitlines()
            texts = [row.split("<probe> ", 1)[1] for row in rows if "<probe> " in row]
        return [int(t.split()[1]) for t in texts if t.startswith("line ")]


async def echo_floor(person: Person) -> None:
    """The floor: a bare asyncio client that answers '!ping' with 'pong'."""
    seen = 0
    while True:
        await person.wait_for(
            lambda line: " PRIVMSG #bench :!ping" in line, within=3600, since=seen
        )
        seen = len(person.lines)
        await person.say("#bench", "pong")


async def round_trips(
    probe: Person, command: str, answered: Callable[[str], bool], samples: int
) -> tuple[float, float]:
    times = []
    for _ in range(samples):
        mark = len(probe.lines)
        start = time.perf_counter()
        await probe.say("#bench", command)
        await probe.wait_for(answered, since=mark)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


async def keepalive(person: Person, stop: asyncio.Event) -> None:
    """An idle InspIRCd reads ~10 KB and sleeps; a busy network keeps it reading."""
    while not stop.is_set():
        await person.send("PING :k")
        await asyncio.sleep(0.003)


async def meeting(
    probe: Person, pinger: Person, bot: Contender, name: str, lines: int
) -> dict[str, float]:
    before = bot.files()
    mark = len(probe.lines)
    await probe.say("#bench", bot.start_command.format(name=name))
    await probe.wait_for(lambda line: bot.started in line, since=mark)
    stop = asyncio.Event()
    pinging = asyncio.create_task(keepalive(pinger, stop))
    assert probe._writer is not None
    start = time.perf_counter()
    for first in range(0, lines, 500):
        burst = (
            f"PRIVMSG #bench :line {i} of the meeting\r\n"
            for i in range(first, min(lines, first + 500))
        )
        probe._writer.write("".join(burst).encode())
        await probe._writer.drain()
    mark = len(probe.lines)
    await probe.say("#bench", bot.command)
    await probe.wait_for(bot.answered, within=900, since=mark)
    ingest = time.perf_counter() - start
    mark = len(probe.lines)
    asked = time.perf_counter()
    await probe.say("#bench", bot.command)
    await probe.wait_for(bot.answered, since=mark)
    answer_ms = (time.perf_counter() - asked) * 1000
    stop.set()
    await pinging
    ended = time.perf_counter()
    await probe.say("#bench", bot.end_command)
    while not bot.ended(before):
        await asyncio.sleep(0.002)
    end_ms = (time.perf_counter() - ended) * 1000
    await asyncio.sleep(0.05)
    got = bot.logged()
    return {
        "lines_per_s": lines / ingest,
        "lost": lines - len(set(got)),
        "out_of_order": sum(1 for a, b in itertools.pairwise(got) if b < a),
        "end_ms": end_ms,
        "answer_after_burst_ms": answer_ms,
    }


async def topic_round_trips(probe: Person, bot: Contender, samples: int) -> tuple[float, float]:
    """#topic until the bot's TOPIC change arrives; one a second (Atheme allows no more)."""
    times = []
    for i in range(samples):
        mark = len(probe.lines)
        start = time.perf_counter()
        await probe.say("#bench", f"#topic item {i} {start:.0f}")
        marker = f"item {i} "
        await probe.wait_for(
            lambda line, marker=marker: (
                line.startswith(f":{bot.nick}!") and " TOPIC #bench :" in line and marker in line
            ),
            since=mark,
        )
        times.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(1.05)
    return statistics.median(times), max(times)


async def topic_figures(
    probe: Person, pinger: Person, bot: Contender, samples: int
) -> dict[str, float]:
    """The #topic round trip in a fresh meeting, then again after 5,000 lines."""
    before = bot.files()  # a bot may write its files as the meeting goes: counted before it
    mark = len(probe.lines)
    await probe.say("#bench", bot.start_command.format(name="topics"))
    await probe.wait_for(lambda line: bot.started in line, since=mark)
    await asyncio.sleep(1.1)  # some bots set a topic at the start; one change a second
    figures: dict[str, float] = {}
    (
        figures["topic_rtt_fresh_median_ms"],
        figures["topic_rtt_fresh_max_ms"],
    ) = await topic_round_trips(probe, bot, samples)
    assert probe._writer is not None
    for first in range(0, 5_000, 500):
        probe._writer.write(
            "".join(
                f"PRIVMSG #bench :line {i} of the meeting\r\n" for i in range(first, first + 500)
            ).encode()
        )
        await probe._writer.drain()
    mark = len(probe.lines)
    await probe.say("#bench", bot.command)
    await probe.wait_for(bot.answered, within=900, since=mark)
    (
        figures["topic_rtt_after_5000_median_ms"],
        figures["topic_rtt_after_5000_max_ms"],
    ) = await topic_round_trips(probe, bot, samples)
    await probe.say("#bench", bot.end_command)
    while not bot.ended(before):
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.1)
    return figures


class Sampler:
    """A bot's resident memory, sampled every 10 ms while a task runs (the peak of a meeting)."""

    def __init__(self, bot: Contender) -> None:
        self.bot = bot
        self.peak = 0.0

    def rss(self) -> float:
        """The biggest process under what we started (runuser starts Sopel as a child)."""
        parent = psutil.Process(self.bot.process.pid)
        return max(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20

    async def during(self, work: Awaitable[dict[str, float]]) -> dict[str, float]:
        stop = asyncio.Event()

        async def sample() -> None:
            while not stop.is_set():
                self.peak = max(self.peak, self.rss())
                await asyncio.sleep(0.01)

        sampling = asyncio.create_task(sample())
        try:
            return await work
        finally:
            stop.set()
            await sampling


async def measure(
    bot: Contender, probe: Person, pinger: Person, samples: int, sizes: tuple[int, ...]
) -> dict[str, float]:
    memory = Sampler(bot)
    await asyncio.sleep(2)  # at rest: joined, nothing asked yet
    figures: dict[str, float] = {"rss_at_rest_mb": memory.rss()}
    print(f"  {bot.name}: round trips", file=sys.stderr, flush=True)
    figures["rtt_median_ms"], figures["rtt_p99_ms"] = await round_trips(
        probe, bot.command, bot.answered, samples
    )
    if bot.sets_topic:
        await probe.send(f"MODE #bench +o {bot.nick}")  # topics are op-only (+t)
        await asyncio.sleep(0.3)
        figures.update(await topic_figures(probe, pinger, bot, 5 if samples < 100 else 10))
    for size in sizes:
        print(f"  {bot.name}: a meeting of {size:,} lines", file=sys.stderr, flush=True)
        memory.peak = 0.0
        done = await memory.during(meeting(probe, pinger, bot, f"big{size}", size))
        for key, value in done.items():
            figures[f"{key}_{size}"] = value
        figures[f"rss_peak_{size}_mb"] = memory.peak
        await asyncio.sleep(1.1)  # hcoop-meetbot names its files to the second
    figures["rss_after_big_mb"] = memory.rss()
    for i in range(5):
        await meeting(probe, pinger, bot, f"series{i}", 200)
        await asyncio.sleep(1.1)
    await asyncio.sleep(2)
    figures["rss_after_5_more_meetings_mb"] = memory.rss()
    return figures


async def joined(probe: Person, nick: str, mark: int) -> None:
    await probe.wait_for(
        lambda line: line.startswith(f":{nick}!") and " JOIN " in line, within=60, since=mark
    )
    await asyncio.sleep(0.5)


async def start_opsbot(folder: Path, port: int, probe: Person) -> Contender:
    folder.mkdir(parents=True)
    config = folder / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{folder}/bot.db'}}\n"
        f"log: {{file: {folder}/bot.log, level: WARNING}}\n"
        "web: {enabled: false}\n"  # IRC and meetings only, as the peers run: no web site
        "networks:\n"
        f"  - {{type: irc, name: bench, host: 127.0.0.1, port: {port}, tls: false, nick: opsbot,\n"
        "     channels: ['#bench'], flood: {burst: 100000, per_second: 100000}}\n"
        f"plugins: {{enabled: [core, meetings], meetings: {{output_dir: {folder}/meetings, set_topic: true}}}}\n"
    )
    mark = len(probe.lines)
    process = subprocess.Popen(
        [sys.executable, "-m", "opsbot", "run", "-c", str(config)], cwd=folder
    )
    await joined(probe, "opsbot", mark)
    return Contender(
        "opsbot",
        "opsbot",
        "!version",
        "PRIVMSG #bench :opsbot ",
        "The meeting name has been set to",
        folder / "meetings",
        6,
        process,
        sets_topic=True,
    )


def peer_venv(name: str, packages: list[str], python: str = sys.executable) -> Path:
    """A peer's own venv under .servers/peers, installed once from PyPI."""
    venv = ROOT / ".servers" / "peers" / name
    if not (venv / ".installed").exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", *packages], check=True)
        (venv / ".installed").touch()
    return venv


async def start_limnoria(folder: Path, port: int, probe: Person) -> Contender:
    venv = peer_venv("limnoria", ["limnoria", "hcoop-meetbot"])
    for sub in ("conf", "data/tmp", "data/web", "logs", "backup", "meetings"):
        (folder / sub).mkdir(parents=True)
    settings = {
        "supybot.nick": "limnoria",
        "supybot.ident": "limnoria",
        "supybot.user": "limnoria",
        "supybot.networks": "bench",
        "supybot.networks.bench.servers": f"127.0.0.1:{port}",
        "supybot.networks.bench.channels": "#bench",
        "supybot.networks.bench.ssl": "False",
        "supybot.directories.conf": f"{folder}/conf",
        "supybot.directories.data": f"{folder}/data",
        "supybot.directories.data.tmp": f"{folder}/data/tmp",
        "supybot.directories.data.web": f"{folder}/data/web",
        "supybot.directories.log": f"{folder}/logs",
        "supybot.directories.backup": f"{folder}/backup",
        "supybot.directories.plugins": "",
        "supybot.plugins": "Admin Misc Owner User HcoopMeetbot",
        **{
            f"supybot.plugins.{plugin}": "True"
            for plugin in ("Admin", "Misc", "Owner", "User", "HcoopMeetbot")
        },
        "supybot.reply.whenAddressedBy.chars": "!",
        "supybot.reply.whenNotCommand": "False",
        "supybot.protocols.irc.throttleTime": "0.0",
        "supybot.abuse.flood.command": "False",
        "supybot.abuse.flood.command.invalid": "False",
        "supybot.log.stdout": "False",
    }
    (folder / "bot.conf").write_text(
        "".join(f"{key}: {value}\n" for key, value in settings.items())
    )
    (folder / "conf/HcoopMeetbot.conf").write_text(
        f"[HcoopMeetbot]\nlogDir = {folder}/meetings\nurlPrefix = /\n"
        "pattern = {name}/%Y/{name}.%Y%m%d.%H%M%S\ntimezone = UTC\nuseChannelTopic = True\n"
    )
    mark = len(probe.lines)
    command = [str(venv / "bin/limnoria"), "--allow-root", "bot.conf"]
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await joined(probe, "limnoria", mark)
    return Contender(
        "Limnoria + hcoop-meetbot",
        "limnoria",
        "!ping",
        "PRIVMSG #bench :pong",
        "Meeting started at",
        folder / "meetings",
        3,
        process,
        sets_topic=True,
    )


async def start_sopel(folder: Path, port: int, probe: Person) -> Contender:
    """Sopel refuses root: it runs as a throwaway system user, from a venv of Debian's Python."""
    # Debian's Python: the pyenv one in root's home is unreadable to the throwaway user.
    venv = peer_venv("sopel", ["sopel", "sopel-meetbot"], python="/usr/bin/python3")
    if subprocess.run(["id", "sopelbench"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "sopelbench"], check=True)
    (folder / "meetings").mkdir(parents=True)
    (folder / "logs").mkdir()
    (folder / "sopel.cfg").write_text(
        "[core]\nnick = sopel\nhost = 127.0.0.1\n"
        f'port = {port}\nuse_ssl = false\nowner = probe\nchannels = "#bench"\n'
        "enable = choose,meetbot\nprefix = \\.\nhelp_prefix = .\n"
        f"homedir = {folder}\nlogdir = {folder}/logs\npid_dir = {folder}\n"
        "flood_burst_lines = 100000\nflood_refill_rate = 100000\nflood_empty_wait = 0\n"
        "antiloop_threshold = 0\n"
        f"[meetbot]\nmeeting_log_path = {folder}/meetings\nmeeting_log_baseurl = http://127.0.0.1/meetings\n"
    )
    subprocess.run(["chown", "-R", "sopelbench", str(folder)], check=True)
    mark = len(probe.lines)
    command = [
        "runuser",
        "-u",
        "sopelbench",
        "--",
        str(venv / "bin/sopel"),
        "-c",
        str(folder / "sopel.cfg"),
    ]
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await joined(probe, "sopel", mark)
    return Contender(
        "Sopel + sopel-meetbot",
        "sopel",
        ".choose alpha beta",
        "My choice:",
        "Meeting started!",
        folder / "meetings",
        2,
        process,
        start_command=".startmeeting {name}",
        end_command=".endmeeting",
        end_marker="Meeting ended at",
    )


Starter = Callable[[Path, int, Person], Awaitable[Contender]]


async def run(quick: bool, only: set[str] | None = None) -> dict[str, dict[str, float]]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-irc-"))
    folder.chmod(0o755)  # Sopel runs as another user and must reach its folder
    (folder / "net").mkdir()
    net = IrcNetwork(folder / "net", bench=shim())
    net.start()
    results: dict[str, dict[str, float]] = {}
    samples = 50 if quick else 300
    sizes = (1_000, 4_000) if quick else (5_000, 20_000)
    try:
        probe = await Person.connect(net.port, "probe")
        pinger = await Person.connect(net.port, "pinger")
        floor = await Person.connect(net.port, "floor")
        for person in (probe, floor):
            await person.send("JOIN #bench")
        await asyncio.sleep(0.3)
        echo = asyncio.create_task(echo_floor(floor))
        floor_answer = lambda line: line.startswith(":floor!") and ":pong" in line  # noqa: E731
        median, p99 = await round_trips(probe, "!ping", floor_answer, samples)
        results["floor, echo in the probe's process"] = {"rtt_median_ms": median, "rtt_p99_ms": p99}
        echo.cancel()
        await floor.quit()
        # Every bot runs in its own process, woken by the kernel for each line; so does this
        # floor, the one the ratios are taken against.
        mark = len(probe.lines)
        echo_process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench/support/echo_floor.py"), str(net.port), "echo"]
        )
        try:
            await joined(probe, "echo", mark)
            median, p99 = await round_trips(
                probe, "!ping", lambda line: line.startswith(":echo!") and ":pong" in line, samples
            )
        finally:
            echo_process.terminate()
            echo_process.wait(10)
        results["floor (bare asyncio client)"] = {"rtt_median_ms": median, "rtt_p99_ms": p99}
        starters: list[tuple[str, Starter]] = [
            ("opsbot", start_opsbot),
            ("limnoria", start_limnoria),
            ("sopel", start_sopel),
        ]
        for name, starter in starters:
            if only and name not in only:
                continue
            bot = await starter(folder / name, net.port, probe)
            try:
                results[bot.name] = await measure(bot, probe, pinger, samples, sizes)
            finally:
                bot.process.send_signal(signal.SIGTERM)
                try:
                    bot.process.wait(30)
                except subprocess.TimeoutExpired:
                    bot.process.kill()
        await probe.quit()
        await pinger.quit()
    finally:
        net.stop()
    return results


def table(results: dict[str, dict[str, float]]) -> list[str]:
    rows = [("figure", *results)]
    keys = sorted(
        {key for figures in results.values() for key in figures},
        key=lambda k: (k.split("_")[-1].isdigit(), k),
    )
    for key in keys:
        rows.append(
            (
                key,
                *(
                    f"{figures[key]:,.2f}" if key in figures else "-"
                    for figures in results.values()
                ),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]


def summary(results: dict[str, dict[str, float]], floor: float) -> list[str]:
    """Issue 20's table: one row per figure, one column per bot, from this run."""
    bots = {name: f for name, f in results.items() if not name.startswith("floor")}
    sizes = sorted(
        {int(k.rsplit("_", 1)[1]) for f in bots.values() for k in f if k.startswith("end_ms_")}
    )
    small, big = sizes[0], sizes[-1]

    def cell(f: dict[str, float], *keys: str, unit: str = "", digits: int = 0) -> str:
        if not all(key in f for key in keys):
            return "-"
        return " / ".join(f"{f[key]:,.{digits}f}" for key in keys) + unit

    rows = [
        ("figure (one run)", *bots),
        (
            "RSS at rest (MiB)",
            *(cell(f, "rss_at_rest_mb", digits=1) for f in bots.values()),
        ),
        (
            f"RSS peak during the {big:,}-line meeting / after 5 more meetings (MiB)",
            *(
                cell(f, f"rss_peak_{big}_mb", "rss_after_5_more_meetings_mb", digits=1)
                for f in bots.values()
            ),
        ),
        (
            f"#endmeeting until every file is written, {small:,} / {big:,} lines (ms)",
            *(cell(f, f"end_ms_{small}", f"end_ms_{big}", digits=1) for f in bots.values()),
        ),
        (
            "command round trip vs the bare asyncio echo client",
            *(f"{f['rtt_median_ms'] / floor:.2f}x" for f in bots.values()),
        ),
        (
            f"meeting ingest, {small:,} / {big:,} lines (lines/s)",
            *(cell(f, f"lines_per_s_{small}", f"lines_per_s_{big}") for f in bots.values()),
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only", action="append", choices=["opsbot", "limnoria", "sopel"], help="these bots only"
    )
    args = parser.parse_args()
    results = asyncio.run(run(args.quick, set(args.only or ())))
    print("IRC benchmark on InspIRCd + Atheme, loopback, flood limits off, one run")
    for line in table(results):
        print("  " + line)
    floor = results["floor (bare asyncio client)"]["rtt_median_ms"]
    for name, figures in results.items():
        if "rtt_median_ms" in figures and not name.startswith("floor"):
            print(f"  {name}: round trip {figures['rtt_median_ms'] / floor:.2f}x the floor")
    print()
    for line in summary(results, floor):
        print("  " + line)
    if not args.only:
        save("irc_peers", results)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
