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

    async def go() -> None:
        plugin = await _open(config_path)
        try:
            if rule is not None and rule not in {r.name for r in plugin.config.rules}:
                known = ", ".join(r.name for r in plugin.config.rules) or "none configured"
                raise click.BadParameter(f"no rule named {rule!r} (rules: {known})")
            out = JsonOut() if fmt == "json" else CsvOut()
            async for person in plugin.export(since=start, rule=rule):
                out.write(person)
            out.end()
        finally:
            await plugin.storage.close()

    run_async(go)


class JsonOut:
    """A JSON array written as people come, one person a line; closed only when complete (a
    failed export leaves output no JSON parser accepts, never a shorter valid list)."""

    def __init__(self) -> None:
        self.first = True

    def write(self, person: dict[str, Any]) -> None:
        sys.stdout.write("[\n" if self.first else ",\n")
        sys.stdout.write(json.dumps(person, ensure_ascii=False, check_circular=False))
        self.first = False

    def end(self) -> None:
        sys.stdout.write("[]\n" if self.first else "\n]\n")


class CsvOut:
    """CSV rows written as people come: lists joined with spaces, evidence as its links."""

    FIELDS = (
        "person", "identities", "meetings_attended", "lines_said", "meetings_chaired",
        "action_items", "action_items_completed", "kudos", "rules_met", "evidence",
    )  # fmt: skip

    def __init__(self) -> None:
        self.writer = csv.writer(sys.stdout)
        self.writer.writerow(self.FIELDS)

    def write(self, person: dict[str, Any]) -> None:
        evidence = (e.get("link") or e["source"] for e in person["evidence"])
        self.writer.writerow(
            (
                person["person"],
                " ".join(person["identities"]),
                person["meetings_attended"],
                person["lines_said"],
                person["meetings_chaired"],
                person["action_items"],
                person["action_items_completed"],
                " ".join(f"{c}:{n}" for c, n in sorted(person["kudos"].items())),
                " ".join(person["rules_met"]),
                " ".join(e for e in evidence if e),
            )
        )

    def end(self) -> None:
        sys.stdout.flush()


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
