"""Records benchmark: ``!record`` (one person's totals, evidence and rules) and ``records export``
(everyone) on a ledger of 1,000,000 kudos and 10,000 meetings (20 attendees each, a chair, three
action items) among 10,000 people, on SQLite and on a real PostgreSQL.

Run: ``python bench/records.py [--quick]`` (PostgreSQL from Debian: ``make servers``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from support.results import save  # noqa: E402  (bench/ is the script's folder)

from opsbot.bot import Bot  # noqa: E402
from opsbot.config import parse_config  # noqa: E402
from opsbot.events import utcnow  # noqa: E402
from opsbot.loader import build_configs  # noqa: E402
from opsbot.state import MIGRATIONS  # noqa: E402
from opsbot_plugins.records.models import Entry  # noqa: E402
from opsbot_plugins.records.plugin import Records  # noqa: E402
from tests.integration.postgresserver import running_postgres  # noqa: E402

RULES = [
    {
        "name": "auc",
        "period_days": 183,
        "any": [
            {"attended": 2, "meetings": ["ops_meetup_team", "openstack_operators"]},
            {"lines": 10, "meetings": ["ops_meetup_team", "openstack_operators"]},
        ],
    },
    {"name": "rootcause", "period_days": 365, "any": [{"kudos": 1, "category": "rootcause"}]},
    {"name": "chair", "any": [{"chaired": 1}]},
]
MEETINGS = ["ops_meetup_team", "openstack_operators", "large_scale_sig", "edge_wg"]
CATEGORIES = ["general", "rootcause", "review", "bugreport", "docs", "meetup", "mentoring"]


IDS = itertools.count(1)


def row(ts: Any, who: int, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": next(IDS),
        "ts": ts,
        "network": "oftc",
        "account": f"p{who}",
        "nick": f"p{who}",
        "kind": kind,
        "meeting": extra.get("meeting", ""),
        "category": extra.get("category", ""),
        "count": extra.get("count", 1),
        "source": extra.get("source", ""),
        "link": extra.get("link", ""),
        "withdrawn": False,
    }


async def fill(plugin: Records, kudos: int, meetings: int, people: int) -> None:
    rng = random.Random(11)
    now = utcnow()
    batch: list[dict[str, Any]] = []

    async def flush() -> None:
        nonlocal batch
        async with plugin.storage.engine.begin() as conn:
            await conn.execute(insert(Entry), batch)
        batch = []

    for m in range(meetings):
        ts = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        name = rng.choice(MEETINGS)
        link = f"https://meetings.example.org/{name}/{m}.html"
        source = f"meeting:{m}"
        attendees = rng.sample(range(people), 20)
        for who in attendees:
            batch.append(
                row(ts, who, "attended", meeting=name, count=rng.randrange(1, 40), source=source,
                    link=link)
            )  # fmt: skip
        batch.append(row(ts, attendees[0], "chaired", meeting=name, source=source, link=link))
        for who in attendees[1:4]:
            batch.append(row(ts, who, "action", meeting=name, source=source, link=link))
        if len(batch) >= 20_000:
            await flush()
    for k in range(kudos):
        ts = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        batch.append(
            row(ts, rng.randrange(people), "kudos", category=rng.choice(CATEGORIES),
                source=f"kudos:{k}")
        )  # fmt: skip
        if len(batch) >= 20_000:
            await flush()
    if batch:
        await flush()
    async with plugin.storage.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        is_pg = conn.dialect.name == "postgresql"
        await conn.execute(text("VACUUM ANALYZE" if is_pg else "ANALYZE"))


def cli_export(url: str, fmt: str) -> float:
    """``opsbot records export`` as a person runs it, output to /dev/null; seconds."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(
            json.dumps(
                {
                    "database": {"url": url},
                    "plugins": {"enabled": ["records"], "records": {"rules": RULES}},
                }
            )
        )
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "opsbot", "records", "export", "--format", fmt],
            env={**os.environ, "OPSBOT_CONFIG": str(config)},
            stdout=subprocess.DEVNULL,
            check=True,
            cwd=ROOT,
        )
        return time.perf_counter() - start


async def measure(url: str, kudos: int, meetings: int, people: int) -> dict[str, float]:
    config = parse_config(
        {
            "database": {"url": url},
            "plugins": {"enabled": ["records"], "records": {"rules": RULES}},
        },
        env={},
    )
    bot = Bot(config, transports=[])
    plugin = Records(bot, "records", build_configs({"records": Records}, config.plugins)["records"])
    await bot.storage.connect()
    try:
        await bot.storage.migrate([("opsbot", MIGRATIONS), ("records", Records.migrations_dir())])
        started = time.perf_counter()
        await fill(plugin, kudos, meetings, people)
        filled = time.perf_counter() - started
        samples = []
        for who in range(10):
            start = time.perf_counter()
            found = await plugin.record([("oftc", f"p{who * 97}")], utcnow())
            samples.append((time.perf_counter() - start) * 1000)
            assert found["evidence"], "every sampled person has a record"
        start = time.perf_counter()
        people = auc = 0
        async for person in plugin.export(since=None, rule=None):
            people += 1
            auc += "auc" in person["rules_met"]
        exported = time.perf_counter() - start
        return {
            "fill_s": filled,
            "record_median_ms": statistics.median(samples),
            "export_s": exported,
            "people_exported": float(people),
            "auc_people": float(auc),
            **{f"cli_export_{fmt}_s": cli_export(url, fmt) for fmt in ("json", "csv")},
        }
    finally:
        await bot.storage.close()


async def run(quick: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-records-"))
    kudos, meetings = (100_000, 1_000) if quick else (1_000_000, 10_000)
    results: dict[str, Any] = {
        "sqlite": await measure(f"sqlite+aiosqlite:///{folder}/records.db", kudos, meetings, 10_000)
    }
    with running_postgres() as server:
        results["postgresql"] = await measure(server.create_database(), kudos, meetings, 10_000)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    print("Records benchmark, one run")
    for name, figures in results.items():
        print(f"  {name}: " + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()))
    save("records", results)


if __name__ == "__main__":
    main()
