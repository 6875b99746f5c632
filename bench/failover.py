"""Benchmark of failover: two ``opsbot run`` processes on one PostgreSQL and a real InspIRCd.

Ten times: ``kill -9`` of the process that is the bot, in the middle of one meeting, and the
time until the other answers ``!ping`` in the channel; the killed one is started again and
stands by. Counted over the run: lines said while a bot was in the channel that the minutes'
log lacks (must be 0), and ``!ping`` answered more often than asked (must be 0).

Run: ``python bench/failover.py [--kills N]`` as root (PostgreSQL and InspIRCd are started for
it, as the tests start them). Figures also go to bench/results/failover.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from support.results import save  # noqa: E402  (bench/ is the script's folder)

from tests.integration.ircserver import IrcNetwork, Person  # noqa: E402
from tests.integration.postgresserver import running_postgres  # noqa: E402
from tests.integration.processes import serving  # noqa: E402
from tests.integration.test_failover import logged, start, stop  # noqa: E402
from tests.integration.test_outage import CHANNEL, said_by_bot  # noqa: E402


async def answering(person: Person, asked: list[int]) -> None:
    """Ping until the bot answers; ``asked``: pings sent, answers beyond one to a ping."""
    for _ in range(600):
        mark = len(person.lines)
        await person.say(CHANNEL, "!ping")
        asked[0] += 1
        try:
            await said_by_bot(person, "pong", since=mark, within=0.5)
        except TimeoutError:
            continue
        await asyncio.sleep(0.5)  # would a second answer come?
        pongs = [
            line for line in person.lines[mark:] if line.startswith(":opsbot!") and "pong" in line
        ]
        asked[1] += len(pongs) - 1
        return
    raise AssertionError("the bot never answered")


async def run(kills: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-failover-bench-"))
    with (
        running_postgres() as database,
        serving(IrcNetwork(Path(tempfile.mkdtemp(prefix="opsbot-irc-bench-")))) as irc,
    ):
        url = database.create_database()
        alice = await Person.connect(irc.port, "alice")
        await alice.send(f"JOIN {CHANNEL}")
        asked = [0, 0]
        names = ["a", "b"]
        procs = {name: start(folder, name, url, irc) for name in names[:1]}
        await answering(alice, asked)
        procs["b"] = start(folder, "b", url, irc)
        await logged(folder / "b" / "bot.log", "standing by: opsbot ")
        await alice.say(CHANNEL, "#startmeeting failover bench")
        said: list[str] = []
        takeovers: list[float] = []
        holder = "a"
        for kill in range(kills):
            for i in range(20):
                text = f"kill {kill} line {i}"
                await alice.say(CHANNEL, text)
                said.append(text)
            await asyncio.sleep(0.5)
            killed = time.monotonic()
            os.kill(procs[holder].pid, signal.SIGKILL)
            procs[holder].wait(timeout=10)
            await answering(alice, asked)
            takeovers.append(time.monotonic() - killed)
            standby = holder
            holder = "b" if holder == "a" else "a"
            mark = (folder / standby / "bot.log").read_text().count("standing by: opsbot ")
            procs[standby] = start(folder, standby, url, irc)
            for _ in range(300):  # the restarted one stands by again
                if (folder / standby / "bot.log").read_text().count("standing by: opsbot ") > mark:
                    break
                await asyncio.sleep(0.1)
            print(f"  kill {kill + 1}: the other answered after {takeovers[-1]:.2f} s")
        mark = len(alice.lines)
        await alice.say(CHANNEL, "#endmeeting")
        await said_by_bot(alice, "Meeting ended", since=mark)
        await asyncio.sleep(1)
        for process in procs.values():
            stop(process)
        await alice.quit()
    [log] = list((folder / "meetings").rglob("*.log.txt"))
    logged_lines = {row.split("> ", 1)[1] for row in log.read_text().splitlines() if "> " in row}
    lost = [text for text in said if text not in logged_lines]
    return {
        "kills": kills,
        "takeover_median_s": statistics.median(takeovers),
        "takeover_max_s": max(takeovers),
        "takeovers_s": takeovers,
        "lines_said": len(said),
        "lines_lost": len(lost),
        "pings": asked[0],
        "answered_twice": asked[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    print("opsbot failover benchmark (two processes, PostgreSQL, InspIRCd; kill -9 of the bot)")
    figures = asyncio.run(run(args.kills))
    print(
        f"  kill -9 to the other process answering: median {figures['takeover_median_s']:.2f} s, "
        f"max {figures['takeover_max_s']:.2f} s over {figures['kills']} kills (target < 10 s)"
    )
    print(
        f"  lines said while a bot was in the channel: {figures['lines_said']}, lost "
        f"{figures['lines_lost']}; !ping asked {figures['pings']} times, "
        f"{figures['answered_twice']} answered twice"
    )
    save("failover", figures)


if __name__ == "__main__":
    main()
