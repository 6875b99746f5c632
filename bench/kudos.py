"""Kudos benchmark.

1. Kudos handled per second end to end: ``!kudos`` lines from many people through a real bot
   (memory transport, core + meetings + kudos, SQLite), until every kudos is committed; and
   again with the records plugin on, until its credits are committed too.
2. Reactions that are kudos (Matrix-like), per second end to end, until committed.
3. ``!kudos top`` (all time, and one category over 30 days), ``!kudos WHO`` and forgetting one
   person (``!forget me``) on a database of 1,000,000 kudos among 10,000 people, on SQLite and
   on a real PostgreSQL.

Run: ``python bench/kudos.py [--quick]`` (PostgreSQL from Debian: ``make servers``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402
from support.results import save  # noqa: E402  (bench/ is the script's folder)

from opsbot.bot import Bot  # noqa: E402
from opsbot.events import Reaction, utcnow  # noqa: E402
from opsbot.personal import forget  # noqa: E402
from opsbot.state import MIGRATIONS  # noqa: E402
from opsbot.storage import Storage  # noqa: E402
from opsbot.testing import TestBot, memory_config  # noqa: E402
from opsbot_plugins.kudos.models import Kudos, Total  # noqa: E402
from opsbot_plugins.kudos.plugin import DEFAULT_CATEGORIES  # noqa: E402
from opsbot_plugins.kudos.plugin import Kudos as KudosPlugin  # noqa: E402
from opsbot_plugins.kudos.store import ALL, KudosStore  # noqa: E402
from opsbot_plugins.records.plugin import Records  # noqa: E402
from tests.integration.postgresserver import running_postgres  # noqa: E402

CATEGORIES = list(DEFAULT_CATEGORIES)


async def end_to_end(folder: Path, count: int, *, with_records: bool) -> float:
    plugins = ("core", "meetings", "kudos", *(("records",) if with_records else ()))
    config = memory_config(folder / f"e2e-{with_records}.db", plugins, {})
    bot = Bot(config)
    await bot.start()
    chat = TestBot(bot).irc
    receivers = [f"r{i}" for i in range(10)]
    for nick in receivers:
        await chat.say(nick, "o/")
    await chat.settle()
    transport = chat.transport
    plugin = bot.plugins["kudos"]
    assert isinstance(plugin, KudosPlugin)
    lines = [
        (f"g{i // 10}", f"!kudos {receivers[i % 10]} #rootcause for bisecting bug {i}")
        for i in range(count)
    ]
    start = time.perf_counter()
    for giver, said in lines:
        await transport.say(giver, said)
    await bot.bus.drain()
    await plugin.store.flush()
    records = bot.plugins.get("records")
    if isinstance(records, Records):
        await records.writer.flush()  # the credit in the contribution records is written too
    elapsed = time.perf_counter() - start
    replies = [s for s in transport.sent if s.text.startswith("Kudos to ")]
    await bot.stop()
    if len(replies) != count:
        raise AssertionError(f"{len(replies)} of {count} kudos were given")
    return count / elapsed


async def reactions_end_to_end(folder: Path, count: int) -> float:
    """Reactions (Matrix-like memory network) that are kudos, until every one is committed."""
    config = memory_config(folder / "reactions.db", ("core", "meetings", "kudos"), {})
    bot = Bot(config)
    await bot.start()
    chat = TestBot(bot).matrix
    transport = chat.transport
    room = transport.room(transport.default_room_id)
    authors = [f"r{i}" for i in range(10)]
    said = [await transport.say(nick, f"the root cause is in placement {nick}") for nick in authors]
    await chat.settle()
    plugin = bot.plugins["kudos"]
    assert isinstance(plugin, KudosPlugin)
    reactions = [
        Reaction(
            network=transport.name, room=room, sender=transport.identity(f"g{i // 10}"),
            target_id=said[i % 10].id or "", key="👏", id=f"$react{i}",
        )
        for i in range(count)
    ]  # fmt: skip
    start = time.perf_counter()
    for reaction in reactions:
        await transport.deliver(reaction)
    await bot.bus.drain()
    await plugin.store.flush()
    elapsed = time.perf_counter() - start
    async with bot.storage.session() as session:
        given = int(await session.scalar(select(func.count()).select_from(Kudos)) or 0)
    await bot.stop()
    if given != count:
        raise AssertionError(f"{given} of {count} reactions were kudos")
    return count / elapsed


async def fill(storage: Storage, url: str, kudos: int, people: int) -> None:
    rng = random.Random(7)
    now = utcnow()
    totals: dict[tuple[str, str], int] = {}
    batch: list[dict[str, Any]] = []
    for i in range(1, kudos + 1):
        receiver = f"p{rng.randrange(people)}"
        category = rng.choice(CATEGORIES)
        for counted in (category, ALL):
            totals[(receiver, counted)] = totals.get((receiver, counted), 0) + 1
        batch.append(
            {
                "id": i,
                "ts": now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
                "network": "oftc",
                "room": "#openstack-operators",
                "giver_network": "oftc",
                "giver_key": f"p{rng.randrange(people)}",
                "giver_nick": "giver",
                "receiver_network": "oftc",
                "receiver_key": receiver,
                "receiver_nick": receiver,
                "category": category,
                "reason": "for finding the root cause",
                "evidence": [],
                "state": "given",
            }
        )
        if len(batch) == 20_000:
            async with storage.engine.begin() as conn:
                await conn.execute(insert(Kudos), batch)
            batch = []
    async with storage.engine.begin() as conn:
        if batch:
            await conn.execute(insert(Kudos), batch)
        rows = [
            {
                "receiver_network": "oftc",
                "receiver_key": receiver,
                "category": category,
                "count": count,
                "nick": receiver,
            }
            for (receiver, category), count in totals.items()
        ]
        await conn.execute(insert(Total), rows)
    async with storage.engine.connect() as conn:  # planner statistics, as a live database has
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))


async def timed(call: Callable[[], Awaitable[object]], times: int = 10) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def queries(url: str, kudos: int, people: int) -> dict[str, float]:
    storage = Storage(url)
    await storage.connect()
    try:
        await storage.migrate([("opsbot", MIGRATIONS), ("kudos", KudosPlugin.migrations_dir())])
        started = time.perf_counter()
        await fill(storage, url, kudos, people)
        filled = time.perf_counter() - started
        store = KudosStore(storage, timedelta(hours=24))
        await store.start()
        month = utcnow() - timedelta(days=30)
        figures = {
            "fill_s": filled,
            "top_all_time_ms": await timed(lambda: store.top(None, None, CATEGORIES)),
            "top_rootcause_all_time_ms": await timed(
                lambda: store.top("rootcause", None, CATEGORIES)
            ),
            "top_30d_ms": await timed(lambda: store.top(None, month, CATEGORIES)),
            "top_rootcause_30d_ms": await timed(lambda: store.top("rootcause", month, CATEGORIES)),
            "standing_ms": await timed(lambda: store.standing([("oftc", "p42")])),
        }
        await store.stop()
        started = time.perf_counter()
        await forget(storage, {"kudos": KudosPlugin}, ("oftc", "p42"), by="the benchmark")
        figures["forget_ms"] = (time.perf_counter() - started) * 1000
        return figures
    finally:
        await storage.close()


async def run(quick: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-kudos-"))
    kudos = 100_000 if quick else 1_000_000
    people = 10_000
    count = 2_000 if quick else 20_000
    results: dict[str, Any] = {
        "end_to_end_kudos_per_s": await end_to_end(folder, count, with_records=False),
        "end_to_end_with_records_kudos_per_s": await end_to_end(folder, count, with_records=True),
        "reactions_per_s": await reactions_end_to_end(folder, count),
    }
    results["sqlite"] = await queries(f"sqlite+aiosqlite:///{folder}/big.db", kudos, people)
    with running_postgres() as server:
        results["postgresql"] = await queries(server.create_database(), kudos, people)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    print("Kudos benchmark, one run")
    print(f"  end to end: {results['end_to_end_kudos_per_s']:,.0f} kudos/s")
    print(
        "  end to end with the records plugin crediting each: "
        f"{results['end_to_end_with_records_kudos_per_s']:,.0f} kudos/s"
    )
    print(
        f"  reactions that are kudos, end to end: {results['reactions_per_s']:,.0f}/s (target 5,000)"
    )
    for name in ("sqlite", "postgresql"):
        shown = ", ".join(f"{k} {v:,.1f}" for k, v in results[name].items())
        print(f"  {name}: {shown}")
    save("kudos", results)


if __name__ == "__main__":
    main()
