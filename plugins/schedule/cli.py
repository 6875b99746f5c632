"""``opsbot schedule check|ical|next``: validate the meeting definitions and find conflicts, write
the calendar as iCalendar files, and say when meetings meet next, from the command line."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import click

from opsbot.cli import config_option, config_or_exit, open_storage, run_async
from opsbot.events import utcnow

from .definitions import Loaded, load_folder
from .recurrence import conflicts, next_occurrence

folder_option = click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of meeting YAML files (default: plugins.schedule.folder of the config).",
)


def _load(config_path: str | None, folder: Path | None) -> Loaded:
    if folder is None:
        from opsbot.loader import build_configs

        from .plugin import Schedule, ScheduleConfig

        config, _ = config_or_exit(config_path)
        settings = build_configs({"schedule": Schedule}, config.plugins)["schedule"]
        assert isinstance(settings, ScheduleConfig)
        folder = settings.folder
    return load_folder(folder)


async def _skips(config_path: str | None) -> dict[str, set[date]]:
    """Days skipped in chat, by meeting (from the database the config names)."""
    from sqlalchemy import select

    from .models import Skip
    from .plugin import Schedule

    storage = await open_storage(config_path, [("schedule", Schedule.migrations_dir())])
    try:
        async with storage.session() as session:
            rows = (await session.scalars(select(Skip))).all()
    finally:
        await storage.close()
    found: dict[str, set[date]] = {}
    for row in rows:
        found.setdefault(row.meeting_id, set()).add(row.day)
    return found


@click.group()
def schedule() -> None:
    """The meeting calendar: check it, export it, ask it."""


@schedule.command("check")
@config_option
@folder_option
def check(config_path: str | None, folder: Path | None) -> None:
    """Validate every definition and look for meetings sharing a room at the same time; exit
    status 1 when anything is wrong."""
    loaded = _load(config_path, folder)
    for problem in loaded.problems:
        click.echo(f"invalid: {problem}")
    clashes = conflicts(loaded.definitions.values(), utcnow())
    for clash in clashes:
        click.echo(f"conflict: {clash}")
    click.echo(
        f"{len(loaded.definitions)} meetings, {len({p.file for p in loaded.problems})} files "
        f"with problems, {len(clashes)} conflicts."
    )
    if loaded.problems or clashes:
        sys.exit(1)


@schedule.command("ical")
@config_option
@folder_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write <meeting_id>.ics for each meeting and all.ics here (default: all to stdout).",
)
def ical(config_path: str | None, folder: Path | None, out: Path | None) -> None:
    """The calendar as iCalendar: RRULEs for the frequencies, EXDATEs for skipped days."""
    from opsbot.files import write_atomically

    from .ical import calendar

    loaded = _load(config_path, folder)
    for problem in loaded.problems:
        click.echo(f"skipped: {problem}", err=True)
    today = date.today()
    everything = calendar(loaded.definitions.values(), today)
    if out is None:
        click.echo(everything.to_ical().decode(), nl=False)
        return
    for meeting_id, definition in loaded.definitions.items():
        one = calendar([definition], today, name=definition.project)
        write_atomically(out / f"{meeting_id}.ics", one.to_ical().decode())
    write_atomically(out / "all.ics", everything.to_ical().decode())
    click.echo(f"Wrote {len(loaded.definitions) + 1} calendars to {out}.")


@schedule.command("next")
@config_option
@folder_option
@click.argument("meeting", required=False)
def next_command(config_path: str | None, folder: Path | None, meeting: str | None) -> None:
    """When each meeting (or MEETING) meets next, soonest first, skipping the days skipped in
    the files and in chat (``!skip``, kept in the database)."""
    loaded = _load(config_path, folder)
    skips = run_async(lambda: _skips(config_path))
    now = utcnow()
    chosen = loaded.definitions
    if meeting is not None:
        if meeting.lower() not in chosen:
            click.echo(f"No meeting named {meeting!r}.", err=True)
            sys.exit(2)
        chosen = {meeting.lower(): chosen[meeting.lower()]}
    found = [next_occurrence(d, now, skips.get(d.meeting_id, set())) for d in chosen.values()]
    coming = sorted((o for o in found if o is not None), key=lambda o: o.start)
    for o in coming:
        click.echo(
            f"{o.start:%a %Y-%m-%d %H:%M} UTC  {o.meeting_id}  {o.entry.irc}  "
            f"({o.entry.frequency}, {o.entry.duration} min)"
        )
    if not coming:
        click.echo(f"No meeting in the next {timedelta(days=400).days} days.")
