"""``opsbot kudos top|export``: the leaderboard, and every standing kudos with its evidence, for
community managers (opted-out people stay out of ``top``; ``export`` is the full record)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import click

from opsbot.cli import config_option, open_storage, run_async

if TYPE_CHECKING:
    from opsbot.storage import Storage

    from .store import Ranked


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


async def _storage(config_path: str | None) -> Storage:
    from .plugin import Kudos

    return await open_storage(config_path, [("kudos", Kudos.migrations_dir())])


@click.group()
def kudos() -> None:
    """Kudos leaderboards and exports."""


@kudos.command("top")
@config_option
@click.option("--category", help="One category (default: all).")
@click.option("--since", help="Only kudos from this day on (YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
def top(config_path: str | None, category: str | None, since: str | None, limit: int) -> None:
    """The people with most kudos."""
    from datetime import timedelta

    from .plugin import DEFAULT_CATEGORIES
    from .store import KudosStore

    start = _since(since)

    async def go() -> list[Ranked]:
        storage = await _storage(config_path)
        try:
            store = KudosStore(storage, timedelta(hours=24))
            return await store.top(category, start, list(DEFAULT_CATEGORIES), limit)
        finally:
            await storage.close()

    for ranked in run_async(go):
        click.echo(f"{ranked.count:6d}  {ranked.nick}")


@kudos.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--since", help="Only kudos from this day on (YYYY-MM-DD).")
def export(config_path: str | None, fmt: str, since: str | None) -> None:
    """Every standing kudos, with its evidence, to standard output."""
    from sqlalchemy import select

    from .models import Kudos

    start = _since(since)

    async def go() -> list[dict[str, Any]]:
        storage = await _storage(config_path)
        try:
            query = select(Kudos).where(Kudos.state == "given").order_by(Kudos.id)
            if start is not None:
                query = query.where(Kudos.ts >= start)
            async with storage.session() as session:
                return [
                    {
                        "id": row.id,
                        "time": row.ts.isoformat(),
                        "network": row.network,
                        "room": row.room,
                        "giver": f"{row.giver_network}:{row.giver_key}",
                        "giver_nick": row.giver_nick,
                        "receiver": f"{row.receiver_network}:{row.receiver_key}",
                        "receiver_nick": row.receiver_nick,
                        "category": row.category,
                        "reason": row.reason,
                        "evidence": [e["ref"] for e in row.evidence],
                    }
                    for row in await session.scalars(query)
                ]
        finally:
            await storage.close()

    rows = run_async(go)
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"])
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "evidence": " ".join(row["evidence"])})
