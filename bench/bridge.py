"""Bridged-room benchmark: a real heisenbridge (PyPI) plumbs a Matrix room to an IRC channel
between a real InspIRCd and a real Synapse (flood and rate limits off for everyone); opsbot sits
on both sides. 2,000 meeting lines are said, half by carol on Matrix and half by bob on IRC, at
a steady rate on each side at once.

Figures: lines logged (expected 2,000), duplicates, lost, whether each side's lines are in the
order that side said them, and the time from a line being said to it being in the meeting's
log (median, p95, max) for lines said on Matrix (which the bot reads natively on Matrix, while
the bridge's IRC copy races it) against lines said natively on IRC.

Run: ``python bench/bridge.py [--lines N]`` (needs ``make servers``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support.results import save  # noqa: E402  (bench/ is the script's folder)

from opsbot.bot import Bot  # noqa: E402
from opsbot.config import parse_config  # noqa: E402
from opsbot.domain import LineLogged  # noqa: E402
from opsbot.events import DomainEvent  # noqa: E402
from opsbot.plugin import Plugin, subscribe  # noqa: E402
from tests.integration.bridgeserver import Heisenbridge  # noqa: E402
from tests.integration.homeserver import MatrixPerson  # noqa: E402
from tests.integration.ircserver import Person  # noqa: E402
from tests.integration.test_bridge import BOT_PASSWORD, CHANNEL, World  # noqa: E402

LOGGED: dict[str, float] = {}
COUNT: dict[str, int] = {}


class Clock(Plugin):
    """When each line reached the meeting's log."""

    @subscribe(LineLogged)
    async def logged(self, event: DomainEvent) -> None:
        assert isinstance(event, LineLogged)
        LOGGED.setdefault(event.text, time.monotonic())
        COUNT[event.text] = COUNT.get(event.text, 0) + 1


def figures(said: dict[str, float], prefix: str) -> dict[str, float]:
    waits = sorted(LOGGED[t] - at for t, at in said.items() if t.startswith(prefix) and t in LOGGED)
    if not waits:
        return {}
    return {
        "median_ms": round(statistics.median(waits) * 1000, 1),
        "p95_ms": round(waits[int(len(waits) * 0.95) - 1] * 1000, 1),
        "max_ms": round(waits[-1] * 1000, 1),
    }


async def run(lines: int, rate: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-bridge-"))
    bridge = Heisenbridge(folder / "servers")
    bridge.start_servers()
    try:
        await bridge.setup()
        bot_id = bridge.homeserver.register("opsbot", BOT_PASSWORD)
        carol = await MatrixPerson.connect(bridge.homeserver, "carol")
        room = await carol.create_room(invite=["@heisenbridge:localhost", bot_id], name="ops")
        bob = await Person.connect(bridge.irc.port, "bob")
        await bob.send(f"JOIN {CHANNEL}")
        await bridge.plumb(room, CHANNEL)
        world = World(bridge, carol, bob, room, bot_id)
        config = world.config(folder, ("irc", "matrix"))
        config["plugins"]["enabled"].append("clock")
        bot = Bot(parse_config(config, env={}), extra_plugins={"clock": Clock})
        await bot.start()
        for _ in range(400):
            if all(bot.transports[side].rooms() for side in ("irc", "matrix")):
                break
            await asyncio.sleep(0.05)
        await world.carol_says("#startmeeting bench")
        said: dict[str, float] = {}
        half = lines // 2

        async def side(prefix: str, where: str, say: Callable[[str], Awaitable[Any]]) -> None:
            for i in range(half):
                text = f"{prefix}{i:05d} said on {where}"
                said[text] = time.monotonic()
                await say(text)
                await asyncio.sleep(1 / rate)

        started = time.monotonic()
        await asyncio.gather(
            side("m", "Matrix", lambda text: carol.say(room, text)),
            side("i", "IRC", lambda text: bob.say(CHANNEL, text)),
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(t in LOGGED for t in said):
            await asyncio.sleep(0.1)
        took = time.monotonic() - started
        # heisenbridge's own flood control relays Matrix lines to IRC one each 1.5 s: every copy
        # must have reached the bot before duplicates can be counted
        relayed = f"PRIVMSG {CHANNEL} :<carol> m{half - 1:05d}"
        await bob.wait_for(lambda line: relayed in line, within=2 * half + 60)
        copies_took = time.monotonic() - started
        await asyncio.sleep(bot.config.bridges[0].window + 1)  # anything held would be let go
        await world.carol_says("#endmeeting")
        await asyncio.sleep(2)
        found = next((folder / "meetings").rglob("*.log.txt"))
        log = [line.split(" ", 1)[1] for line in found.read_text().splitlines()]
        logged = [
            line.split("> ", 1)[1] for line in log if line.startswith(("<carol> m", "<bob> i"))
        ]
        matrix_order = [t for t in logged if t.startswith("m")]
        irc_order = [t for t in logged if t.startswith("i")]
        await bot.stop()
        await carol.close()
        await bob.quit()
        return {
            "lines_said": len(said),
            "lines_logged": len(logged),
            "duplicates": len(logged) - len(set(logged)),
            "lost": len(set(said) - set(logged)),
            "logged_twice_as_events": sum(1 for t in said if COUNT.get(t, 0) > 1),
            "matrix_lines_in_order": matrix_order == sorted(matrix_order),
            "irc_lines_in_order": irc_order == sorted(irc_order),
            "seconds_to_log_all": round(took, 2),
            "seconds_until_the_bridge_relayed_all": round(copies_took, 2),
            "rate_per_side_per_s": rate,
            "said_on_matrix_to_log": figures(said, "m"),
            "said_on_irc_to_log": figures(said, "i"),
        }
    finally:
        await bridge.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=2.0, help="lines per second on each side")
    args = parser.parse_args()
    results = asyncio.run(run(args.lines, args.rate))
    for key, value in results.items():
        print(f"{key:>26}: {value}")
    print(f"saved to {save('bridge', results)}")


if __name__ == "__main__":
    main()
