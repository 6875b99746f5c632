"""Matrix benchmark, side by side in one run on one Synapse on loopback (rate limits raised): a
bare matrix-nio echo client in its own process (the floor) and opsbot.

Figures: command round trip (median, p99) of ``!ping`` from a probe client until the answer
reaches the probe's own sync, for the floor and for opsbot; meeting ingest in lines/s for 2,000
lines sent by two clients at once, until the bot answers a command sent after them, with lost
lines counted in the meeting's log after ``#endmeeting``, and replays (a line logged twice, a
command answered twice) counted too.

The rooms are made as a person makes them in a client today: private, invite-only, named, of
the homeserver's default version (12 on current Synapse, whose room IDs have no server part);
opsbot is configured with the room's ID and invited by someone no ``invites`` rule names.

Run: ``python bench/matrix_roundtrip.py [--quick]`` (needs Synapse: ``make servers``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support.results import save  # noqa: E402  (bench/ is the script's folder)

from tests.integration.homeserver import Homeserver, MatrixPerson  # noqa: E402

BOT_COMMAND, BOT_ANSWER = "!version", "opsbot "
"""A command with no rate limit (``!ping`` allows one every 2 s per person)."""


def body_of(event: Any) -> str:
    return str(getattr(event, "body", ""))


def summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "rtt_median_ms": statistics.median(times),
        "rtt_p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
    }


async def round_trips(
    probe: MatrixPerson, room_id: str, answerer: str, samples: int, command: str, answer: str
) -> list[float]:
    """``command`` until the probe's sync brings ``answerer``'s message starting ``answer``."""
    times = []
    for _ in range(samples):
        mark = len(probe.events)
        start = time.perf_counter()
        await probe.say(room_id, command)
        await probe.wait_for(
            lambda e: e.sender == answerer and body_of(e).startswith(answer),
            room_id,
            since=mark,
        )
        times.append((time.perf_counter() - start) * 1000)
    return times


async def wait_joined(person: MatrixPerson, room_id: str, user_id: str) -> None:
    for _ in range(600):
        members = await person.client.joined_members(room_id)
        if user_id in [m.user_id for m in getattr(members, "members", [])]:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{user_id} never joined")


async def send_lines(person: MatrixPerson, room_id: str, lines: range) -> None:
    for i in lines:
        await person.say(room_id, f"line {i} of the meeting")


async def ingest(
    probe: MatrixPerson, other: MatrixPerson, room_id: str, bot_id: str, folder: Path, lines: int
) -> dict[str, float]:
    mark = len(probe.events)
    await probe.say(room_id, "#startmeeting ingest")
    await probe.wait_for(
        lambda e: e.sender == bot_id and "meeting name has been set" in body_of(e),
        room_id,
        since=mark,
    )
    start = time.perf_counter()
    await asyncio.gather(
        send_lines(probe, room_id, range(0, lines, 2)),
        send_lines(other, room_id, range(1, lines, 2)),
    )
    sent = time.perf_counter()
    mark = len(probe.events)
    await probe.say(room_id, BOT_COMMAND)
    await probe.wait_for(
        lambda e: e.sender == bot_id and body_of(e).startswith(BOT_ANSWER),
        room_id,
        within=600,
        since=mark,
    )
    handled = time.perf_counter()
    mark = len(probe.events)
    await probe.say(room_id, "#endmeeting")
    await probe.wait_for(
        lambda e: e.sender == bot_id and "Meeting ended" in body_of(e), room_id, since=mark
    )
    logged: list[int] = []
    for _ in range(200):
        logs = list((folder / "meetings").rglob("*.log.txt"))
        if logs:
            for row in logs[0].read_text().splitlines():
                text = row.split("> ", 1)[-1]
                if text.startswith("line ") and text.endswith(" of the meeting"):
                    logged.append(int(text.split()[1]))
            break
        await asyncio.sleep(0.05)
    return {
        "lines_per_s": lines / (handled - start),
        "send_lines_per_s": lines / (sent - start),
        "lost": lines - len(set(logged)),
        "replayed": len(logged) - len(set(logged)),
    }


def opsbot_config(
    folder: Path, homeserver: Homeserver, user_id: str, password: str, room_id: str
) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "database": {"url": f"sqlite+aiosqlite:///{folder}/bot.db"},
                "log": {"file": str(folder / "bot.log"), "level": "WARNING"},
                "networks": [
                    {
                        "type": "matrix",
                        "name": "bench",
                        "homeserver": homeserver.url,
                        "user_id": user_id,
                        "password": password,
                        # The room as people make it today: configured by its ID, the bot
                        # invited by someone no `invites` rule names.
                        "rooms": [room_id],
                    }
                ],
                "plugins": {
                    "enabled": ["core", "meetings"],
                    "core": {},
                    "meetings": {"output_dir": str(folder / "meetings")},
                },
            }
        )
    )
    return config


async def run(quick: bool) -> dict[str, dict[str, float]]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-matrix-"))
    homeserver = Homeserver(folder / "synapse")
    homeserver.start()
    samples = 30 if quick else 200
    lines = 400 if quick else 2_000
    results: dict[str, dict[str, float]] = {}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        probe = await MatrixPerson.connect(homeserver, "probe")
        other = await MatrixPerson.connect(homeserver, "other")
        echo_id = homeserver.register("echo", "echo-password")
        bot_id = homeserver.register("opsbot", "opsbot-password")
        # Two rooms alike (the probe, a second person and the one answering): every member is
        # more work for the homeserver on each message.
        # Rooms as a person makes them in a client: private, invite-only, named, of the
        # homeserver's default version (12 on current Synapse: IDs without a server part).
        echo_room = await probe.create_room(
            invite=[echo_id, other.user_id], name="echo", private=True
        )
        await other.join(echo_room)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench/support/matrix_echo.py"),
                    homeserver.url,
                    echo_id,
                    "echo-password",
                ]
            )
        )
        await wait_joined(probe, echo_room, echo_id)
        bot_room = await probe.create_room(
            invite=[bot_id, other.user_id], name="ops meetup", private=True
        )
        version = await probe.room_version(bot_room)
        await other.join(bot_room)
        (folder / "opsbot").mkdir()
        config = opsbot_config(folder / "opsbot", homeserver, bot_id, "opsbot-password", bot_room)
        bot = subprocess.Popen([sys.executable, "-m", "opsbot", "run", "-c", str(config)])
        processes.append(bot)
        await wait_joined(probe, bot_room, bot_id)
        await asyncio.sleep(1)
        # Interleaved rounds, so both meet the same moment of a noisy machine.
        floor_times: list[float] = []
        bot_times: list[float] = []
        for _ in range(4):
            floor_times += await round_trips(
                probe, echo_room, echo_id, samples // 4, "!ping", "pong"
            )
            bot_times += await round_trips(
                probe, bot_room, bot_id, samples // 4, BOT_COMMAND, BOT_ANSWER
            )
        results["floor (bare nio echo client)"] = summary(floor_times)
        results["opsbot"] = {
            **summary(bot_times),
            **await ingest(probe, other, bot_room, bot_id, folder / "opsbot", lines),
        }
        await asyncio.sleep(2)  # time for any answer given twice to show
        answers = [e for e in probe.messages(bot_room, bot_id) if body_of(e).startswith(BOT_ANSWER)]
        commands = samples // 4 * 4 + 1  # the round trips and the one after the ingest
        results["opsbot"]["replayed"] += len(answers) - commands
        results["room"] = {"version": float(version), "id_has_server": float(":" in bot_room)}
        await probe.close()
        await other.close()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        homeserver.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    print("Matrix benchmark on Synapse (SQLite), loopback, rate limits raised, one run")
    for name, figures in results.items():
        shown = ", ".join(f"{key} {value:,.2f}" for key, value in figures.items())
        print(f"  {name}: {shown}")
    floor = results["floor (bare nio echo client)"]["rtt_median_ms"]
    print(f"  opsbot round trip {results['opsbot']['rtt_median_ms'] / floor:.2f}x the floor")
    save("matrix_roundtrip", results)


if __name__ == "__main__":
    main()
