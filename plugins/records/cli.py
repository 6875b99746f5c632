"""``opsbot records export``: every person with their evidence (links to the minutes and the
kudos) and the recognition rules they meet, ready to hand to a community's election officials;
``opsbot records rebuild`` derives the ledger again from the stored events."""

from __future__ import annotations

import asyncio
import csv
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from opsbot.cli import PluginTools, config_option, open_tools, run_async

if TYPE_CHECKING:
    from .plugin import RecordsConfig
    from .reads import Part, RecordReads

MAX_WORKERS = 8


async def _open(config_path: str | None) -> tuple[PluginTools[RecordsConfig], RecordReads]:
    """The records' config and database, and the queries over its ledger (nothing of the
    plugin is built: nothing here hears events, so there is nothing to wait for)."""
    from .plugin import Records
    from .reads import RecordReads

    tools: PluginTools[RecordsConfig] = await open_tools(config_path, "records", Records)
    return tools, RecordReads(
        tools.storage, tools.section.rules, _nothing_waits, tools.section.nominations
    )


async def _nothing_waits() -> None:
    return None


@click.group()
def records() -> None:
    """Contribution records: export them, rebuild the ledger."""


@records.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--since", help="Only evidence from this day on (YYYY-MM-DD).")
@click.option("--rule", help="Only people who meet this rule.")
@click.option(
    "--jobs",
    type=click.IntRange(1, MAX_WORKERS),
    help="Processes sharing the work (default: one a CPU core).",
)
def export(
    config_path: str | None, fmt: str, since: str | None, rule: str | None, jobs: int | None
) -> None:
    """Every person's record to standard output."""
    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), datetime.min.time(), UTC)
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a date (YYYY-MM-DD)") from None

    async def plan() -> list[Part]:
        tools, reads = await _open(config_path)
        try:
            if rule is not None and rule not in {r.name for r in reads.rules}:
                known = ", ".join(r.name for r in reads.rules) or "none configured"
                raise click.BadParameter(f"no rule named {rule!r} (rules: {known})")
            return await reads.parts(workers)
        finally:
            await tools.storage.close()

    workers = max(1, min(os.cpu_count() or 1, MAX_WORKERS, jobs or MAX_WORKERS))
    parts = run_async(plan)
    out = JsonOut(sys.stdout) if fmt == "json" else CsvOut(sys.stdout)
    if len(parts) <= 1:
        run_async(lambda: _export_part(config_path, start, rule, None, out))
        out.end()
        return
    # Several processes, one range of identities each, written to files then joined in order:
    # turning a million ledger rows into evidence is Python work, and a process has one core.
    with tempfile.TemporaryDirectory(prefix="opsbot-export-") as folder:
        files = [Path(folder) / f"part-{i}" for i in range(len(parts))]
        context = multiprocessing.get_context("fork")
        with context.Pool(len(parts)) as pool:
            failures = pool.starmap(
                _export_file,
                [
                    (config_path, fmt, start, rule, part, f)
                    for part, f in zip(parts, files, strict=True)
                ],
            )
        for failure in failures:
            if failure:
                click.echo(failure, err=True)
                sys.exit(1)
        for file in files:
            out.join(file)
        out.end()


async def _export_part(
    config_path: str | None,
    start: datetime | None,
    rule: str | None,
    part: Part | None,
    out: JsonOut | CsvOut,
) -> None:
    tools, reads = await _open(config_path)
    try:
        async for person in reads.export(since=start, rule=rule, part=part):
            out.write(person)
    finally:
        await tools.storage.close()


def _export_file(
    config_path: str | None,
    fmt: str,
    start: datetime | None,
    rule: str | None,
    part: Part,
    path: Path,
) -> str | None:
    """One range of the export into ``path`` (in a process of its own); an error's message."""
    try:
        with path.open("w", encoding="utf-8", newline="") as file:
            out = JsonOut(file) if fmt == "json" else CsvOut(file, header=False)
            asyncio.run(_export_part(config_path, start, rule, part, out))
    except Exception as error:  # told by the parent, which exits with it
        return f"The export failed: {error}"
    return None


class JsonOut:
    """A JSON array written as people come, one person a line; closed only when complete (a
    failed export leaves output no JSON parser accepts, never a shorter valid list)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.first = True

    def write(self, person: dict[str, Any]) -> None:
        self.stream.write("[\n" if self.first else ",\n")
        self.stream.write(json.dumps(person, ensure_ascii=False, check_circular=False))
        self.first = False

    def join(self, part: Path) -> None:
        """Append what another writer wrote to ``part`` (its own opening bracket dropped)."""
        with part.open(encoding="utf-8") as file:
            if file.read(2) != "[\n":
                return  # nobody in that part
            self.stream.write("[\n" if self.first else ",\n")
            shutil.copyfileobj(file, self.stream, 1 << 20)
            self.first = False

    def end(self) -> None:
        self.stream.write("[]\n" if self.first else "\n]\n")
        self.stream.flush()


class CsvOut:
    """CSV rows written as people come: lists joined with spaces, evidence as its links (each
    once: a meeting attended, chaired and with an action item owned is one minutes URL; a
    kudos carries the links its reason gave)."""

    FIELDS = (
        "person", "identities", "meetings_attended", "lines_said", "meetings_chaired",
        "action_items", "action_items_completed", "kudos", "rules_met", "evidence",
    )  # fmt: skip

    def __init__(self, stream: TextIO, *, header: bool = True) -> None:
        self.stream = stream
        self.writer = csv.writer(stream)
        if header:
            self.writer.writerow(self.FIELDS)

    def write(self, person: dict[str, Any]) -> None:
        links = (e.get("link") or e["source"] for e in person["evidence"])
        evidence = dict.fromkeys(word for found in links if found for word in found.split())
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
                " ".join(evidence),
            )
        )

    def join(self, part: Path) -> None:
        with part.open(encoding="utf-8", newline="") as file:
            shutil.copyfileobj(file, self.stream, 1 << 20)

    def end(self) -> None:
        self.stream.flush()


@records.command("nominate")
@config_option
@click.argument("who")
@click.option("--rule", required=True, help="The rule they are to count as meeting.")
@click.option("--until", "until", required=True, help="The last day it counts (YYYY-MM-DD).")
@click.option("--why", required=True, help="Why (shown with their record and in the export).")
def nominate(config_path: str | None, who: str, rule: str, until: str, why: str) -> None:
    """Count WHO (network:account) as meeting RULE until a day, by name: as a user committee
    keeps people its rules miss. Shown in !record and the export; ignored once expired."""
    from opsbot.events import utcnow

    from .models import NominationRow

    network, _, account = who.partition(":")
    if not network or not account:
        raise click.BadParameter(f"{who!r} is not network:account", param_hint="WHO")
    try:
        last_day = date.fromisoformat(until)
    except ValueError:
        raise click.BadParameter(
            f"{until!r} is not a date (YYYY-MM-DD)", param_hint="--until"
        ) from None
    if last_day < utcnow().date():
        raise click.BadParameter(f"{until} is past", param_hint="--until")

    async def go() -> None:
        tools, _ = await _open(config_path)
        try:
            if rule not in {r.name for r in tools.section.rules}:
                known = ", ".join(r.name for r in tools.section.rules) or "none"
                raise click.BadParameter(
                    f"there is no rule {rule!r} (rules: {known})", param_hint="--rule"
                )
            async with tools.storage.session() as session, session.begin():
                session.add(
                    NominationRow(
                        network=network, account=account, rule=rule, until=last_day,
                        why=why[:1024], by="an admin (command line)", at=utcnow(),
                    )
                )  # fmt: skip
        finally:
            await tools.storage.close()

    run_async(go)
    click.echo(f"{who} counts as meeting {rule} until {last_day.isoformat()}.")


@records.command("rebuild")
@config_option
def rebuild(config_path: str | None) -> None:
    """Derive the ledger again from the stored events."""

    async def go() -> int:
        from .derive import rebuild as derive_again

        tools, _ = await _open(config_path)
        try:
            return await derive_again(tools.storage)
        finally:
            await tools.storage.close()

    click.echo(f"{run_async(go)} ledger entries derived from the stored events.")
