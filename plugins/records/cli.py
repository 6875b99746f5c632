"""``opsbot records export``: every person with their evidence (links to the minutes and the
kudos) and the recognition rules they meet, ready to hand to a community's election officials;
``opsbot records rebuild`` derives the ledger again from the stored events."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import click

from opsbot.cli import config_or_exit, run_async

if TYPE_CHECKING:
    from .plugin import Records

config_option = click.option(
    "-c", "--config", "config_path", type=click.Path(dir_okay=False), help="Config file."
)


async def _open(config_path: str | None) -> Records:
    from opsbot.bot import Bot
    from opsbot.loader import build_configs
    from opsbot.state import MIGRATIONS

    from .plugin import Records

    config, _ = config_or_exit(config_path)
    bot = Bot(config, transports=[])
    plugin_config = build_configs({"records": Records}, config.plugins)["records"]
    await bot.storage.connect()
    await bot.storage.migrate([("opsbot", MIGRATIONS), ("records", Records.migrations_dir())])
    return Records(bot, "records", plugin_config)


@click.group()
def records() -> None:
    """Contribution records: export them, rebuild the ledger."""


@records.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--since", help="Only evidence from this day on (YYYY-MM-DD).")
@click.option("--rule", help="Only people who meet this rule.")
def export(config_path: str | None, fmt: str, since: str | None, rule: str | None) -> None:
    """Every person's record to standard output."""
    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), datetime.min.time(), UTC)
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a date (YYYY-MM-DD)") from None

    async def go() -> list[dict[str, Any]]:
        plugin = await _open(config_path)
        try:
            if rule is not None and rule not in {r.name for r in plugin.config.rules}:
                known = ", ".join(r.name for r in plugin.config.rules) or "none configured"
                raise click.BadParameter(f"no rule named {rule!r} (rules: {known})")
            return await plugin.export(since=start, rule=rule)
        finally:
            await plugin.storage.close()

    people = run_async(go)
    if fmt == "json":
        click.echo(json.dumps(people, ensure_ascii=False, indent=1))
        return
    fields = [
        "person", "identities", "meetings_attended", "lines_said", "meetings_chaired",
        "action_items", "kudos", "rules_met", "evidence",
    ]  # fmt: skip
    writer = csv.DictWriter(sys.stdout, fieldnames=fields)
    writer.writeheader()
    for person in people:
        writer.writerow(
            {
                **{
                    k: person[k]
                    for k in fields
                    if k not in ("identities", "kudos", "rules_met", "evidence")
                },
                "identities": " ".join(person["identities"]),
                "kudos": " ".join(f"{c}:{n}" for c, n in sorted(person["kudos"].items())),
                "rules_met": " ".join(person["rules_met"]),
                "evidence": " ".join(
                    e["link"] or e["source"] for e in person["evidence"] if e["link"] or e["source"]
                ),
            }
        )


@records.command("rebuild")
@config_option
def rebuild(config_path: str | None) -> None:
    """Derive the ledger again from the stored events."""

    async def go() -> int:
        plugin = await _open(config_path)
        try:
            return await plugin.rebuild()
        finally:
            await plugin.storage.close()

    click.echo(f"{run_async(go)} ledger entries derived from the stored events.")
