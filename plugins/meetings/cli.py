"""``opsbot meetings ...`` and ``opsbot minutes ...``: replay, import, regenerate and pull minutes.

``replay`` needs no database and no config: it runs a transcript through the same engine the
live bot uses and writes every output. The others read the config for the database and the
meetings plugin's settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from opsbot.cli import PluginTools, config_option, config_or_exit, open_tools, run_async

from .engine import Meeting, Settings, replay
from .paths import DEFAULT_PATTERN

if TYPE_CHECKING:
    from opsbot.bot import Bot
    from opsbot.events import Room

    from .settings import MeetingsConfig, MeetingSettings
    from .store import MeetingStore


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group()
def meetings() -> None:
    """Replay transcripts, import MeetBot archives, regenerate outputs."""


@meetings.command("replay")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the outputs.",
)
@click.option(
    "--channel", default="#meeting", show_default=True, help="Channel the meeting was held in."
)
@click.option("--network", default="irc", show_default=True)
@click.option(
    "--date",
    "day",
    help="Date of the transcript's times (default: from the file name, else today).",
)
@click.option("--url-prefix", default="", help="Public URL of --out, for links inside the outputs.")
@click.option(
    "--pattern", default=DEFAULT_PATTERN, show_default=True, help="Layout of the output files."
)
def replay_command(
    log: Path, out: Path, channel: str, network: str, day: str | None, url_prefix: str, pattern: str
) -> None:
    """Run a MeetBot-style transcript LOG (HH:MM:SS <nick> text) through the meeting engine and
    write every output. Lines of the bot that ran the meeting count like anyone's; a transcript
    without #endmeeting is written as #save would write it."""
    from .files import write_outputs
    from .transcript import read

    transcript = read(log, _day(day))
    for number, text in transcript.problems:
        click.echo(f"{log}:{number}: not a transcript line, skipped: {text[:120]}", err=True)
    meeting = replay(transcript.lines, network, channel, Settings(pattern=pattern))
    if not meeting.started:
        click.echo(f"{log}: no #startmeeting in this transcript; nothing written.", err=True)
        sys.exit(2)
    base, _ = write_outputs(meeting, out, pattern=pattern, url_prefix=url_prefix)
    state = "ended" if meeting.ended else "not ended (written as #save would)"
    click.echo(
        f"{meeting.name}: {len(meeting.lines)} lines, {len(meeting.items)} items, {state}; wrote {out / base}.*"
    )


@dataclasses.dataclass(frozen=True)
class _Opened:
    """The meetings plugin's tools: its store, its config and how meetings' settings are read,
    as the bot reads them, without building the plugin."""

    tools: PluginTools[MeetingsConfig]
    store: MeetingStore
    settings: MeetingSettings

    def config_for(self, room: Room) -> MeetingsConfig:
        """The section with the room's overrides, as the live plugin reads it."""
        return self.tools.sections.for_room(room)


def _room(network: str, room: str, channel: str) -> Room:
    """A stored meeting's room, named as the live plugin names it (a Matrix room configured by
    its alias is found by that name)."""
    from opsbot.events import Room

    return Room(network, room, name=channel)


async def _open(config_path: str | None) -> _Opened:
    """The database (migrated) and the meetings config, as the bot would read them."""
    from .plugin import Meetings
    from .settings import MeetingSettings
    from .store import MeetingStore

    tools = await open_tools(config_path, "meetings", Meetings)
    settings = MeetingSettings(tools.sections, tools.prefix_for, tools.site_url)
    return _Opened(tools, MeetingStore(tools.storage), settings)


async def _save(opened: _Opened, room: Room, meeting_id: int, meeting: Meeting, ended: bool) -> str:
    """Write a meeting's outputs where the live plugin would (the room's folder, the meeting's
    own settings) and store what it became; returns their base name within that folder."""
    from .files import write_outputs

    base, summary = write_outputs(
        meeting,
        opened.config_for(room).output_dir,
        pattern=meeting.settings.pattern,
        url_prefix=meeting.settings.url_prefix,
        tz=opened.tools.timezone,
    )
    await opened.store.finish(meeting_id, meeting, base, summary, ended=ended)
    return base


@contextlib.asynccontextmanager
async def _history_listeners(config_path: str | None) -> AsyncIterator[Bot | None]:
    """A bot with no networks running the enabled plugins that hear history (the contribution
    records), to tell them about imported meetings; None when no such plugin is enabled. It
    starts before anything is imported: a plugin that cannot start stops the import."""
    from opsbot.bot import Bot
    from opsbot.loader import load_classes

    config, _ = config_or_exit(config_path)
    hearing = [n for n, cls in load_classes(config.plugins).items() if cls.hears_history]
    if not hearing:
        yield None
        return
    plugins = config.plugins.model_copy(update={"enabled": hearing})
    quiet = config.web.model_copy(update={"enabled": False})  # the running bot serves the site
    bot = Bot(config.model_copy(update={"plugins": plugins, "web": quiet}), transports=[])
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


@meetings.command("import")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--channel", default="#meeting", show_default=True)
@click.option("--network", default="irc", show_default=True)
@config_option
def import_command(
    paths: Sequence[Path], channel: str, network: str, config_path: str | None
) -> None:
    """Load existing MeetBot archives (.log.txt or .log.html) into the database, so history,
    action items and records include past meetings. A file already imported is skipped."""
    sources = [(path, str(path.resolve())) for path in paths]

    async def go() -> list[str]:
        opened = await _open(config_path)
        try:
            async with _history_listeners(config_path) as listeners:
                return [
                    await _import_one(path, source, channel, network, opened, listeners)
                    for path, source in sources
                ]
        finally:
            await opened.tools.storage.close()

    for line in run_async(go):
        click.echo(line)


async def _import_one(
    path: Path,
    source: str,
    channel: str,
    network: str,
    opened: _Opened,
    listeners: Bot | None,
) -> str:
    """Import one archive; returns the line reported for it."""
    from .announce import ended_event
    from .files import links
    from .transcript import name_of, read

    store = opened.store
    known = await store.imported_from(source)
    if known is not None:
        return f"{path}: already imported as meeting {known}, skipped"
    transcript = read(path)
    room = _room(network, channel, channel)
    meeting = replay(transcript.lines, network, channel, opened.settings.now(room))
    if not meeting.started or meeting.owner is None or meeting.started_at is None:
        return f"{path}: no #startmeeting, skipped"
    meeting.keep_name(name_of(path) or meeting.name)  # archives keep the names they have
    meeting_id = await store.create(
        network, channel, channel, meeting.name, meeting.started_at, meeting.owner.nick,
        source=source, settings=meeting.settings.to_json(),
    )  # fmt: skip
    await store.insert_lines(meeting_id, meeting.lines)
    base = await _save(opened, room, meeting_id, meeting, ended=True)
    if listeners is not None:
        urls = links(base, meeting.settings.url_prefix)
        ids = await store.action_ids(meeting_id)
        event = ended_event(meeting_id, room, meeting, urls, ids, imported=True)
        archive_bot = next(
            (line.nick for line in meeting.lines if line.text.startswith("Meeting started ")), None
        )
        if archive_bot is not None:  # the MeetBot of the day attended, but gets no credit
            attendees = {n: c for n, c in event.attendees.items() if n != archive_bot}
            event = dataclasses.replace(event, attendees=attendees)
        await listeners.bus.emit(event)
    bad = f", {len(transcript.problems)} unreadable lines skipped" if transcript.problems else ""
    return (
        f"{path}: meeting {meeting_id} '{meeting.name}' {meeting.started_at:%Y-%m-%d %H:%M}, "
        f"{len(meeting.lines)} lines, {len(meeting.actions())} actions{bad}"
    )


@meetings.command("regenerate")
@click.argument("meeting_id", type=int)
@config_option
def regenerate(meeting_id: int, config_path: str | None) -> None:
    """Write a stored meeting's outputs again from its log."""

    async def go() -> str:
        opened = await _open(config_path)
        store = opened.store
        try:
            row = await store.meeting(meeting_id)
            if row is None:
                click.echo(f"There is no meeting {meeting_id}.", err=True)
                sys.exit(2)
            room = _room(row.network, row.room, row.channel)
            meeting = replay(
                await store.lines(meeting_id),
                row.network,
                row.channel,
                opened.settings.stored(row.settings, room),
            )
            if row.source is not None:  # an imported archive keeps the name it has
                meeting.keep_name(row.name)
            base = await _save(
                opened, room, meeting_id, meeting, ended=meeting.ended or row.ended_at is not None
            )
            return f"{meeting.name}: wrote {opened.config_for(room).output_dir / base}.*"
        finally:
            await opened.tools.storage.close()

    click.echo(run_async(go))


@click.group()
def minutes() -> None:
    """List meetings and show their minutes."""


@minutes.command("list")
@click.option("--name", help="Only meetings of this name.")
@click.option("--since", help="Only meetings on or after this date (YYYY-MM-DD).")
@config_option
def list_command(name: str | None, since: str | None, config_path: str | None) -> None:
    """Meetings that ended, newest first."""
    since_day = _day(since)

    async def go() -> list[str]:
        opened = await _open(config_path)
        store = opened.store
        try:
            start = (
                datetime.combine(since_day, datetime.min.time(), tzinfo=UTC) if since_day else None
            )
            rows = await store.meetings(name=name.lower() if name else None, since=start)
        finally:
            await opened.tools.storage.close()
        return [
            f"{row.id:>5}  {row.started_at:%Y-%m-%d %H:%M}  {row.name:<30} {row.network}:{row.channel}"
            + ("  (restricted)" if row.restricted else "")
            for row in rows
        ]

    found = run_async(go)
    for line in found:
        click.echo(line)
    if not found:
        click.echo("No meetings.", err=True)


@minutes.command("show")
@click.argument("name")
@click.option("--date", "day", help="The meeting on this date (YYYY-MM-DD).")
@click.option("--last", is_flag=True, help="The latest meeting of that name (the default).")
@click.option(
    "--format", "fmt", type=click.Choice(["txt", "md", "json"]), default="txt", show_default=True
)
@config_option
def show(name: str, day: str | None, last: bool, fmt: str, config_path: str | None) -> None:
    """Print a meeting's minutes, regenerated from its log."""
    on_day = _day(day)

    async def go() -> str:
        from .render import Context, minutes_md, minutes_txt, record_json

        opened = await _open(config_path)
        store = opened.store
        try:
            rows = [
                r
                for r in await store.meetings(name=name.lower())
                if on_day is None or r.started_at.date() == on_day
            ]
            if not rows:
                click.echo(
                    f"No meeting '{name}'" + (f" on {on_day}" if on_day else "") + ".", err=True
                )
                sys.exit(2)
            row = rows[0]
            meeting = replay(
                await store.lines(row.id),
                row.network,
                row.channel,
                opened.settings.stored(row.settings, _room(row.network, row.room, row.channel)),
            )
            ctx = Context(
                meeting, row.base or "", meeting.settings.url_prefix, opened.tools.timezone
            )
            renderer: Any = {"txt": minutes_txt, "md": minutes_md, "json": record_json}[fmt]
            return str(renderer(ctx))
        finally:
            await opened.tools.storage.close()

    click.echo(run_async(go), nl=False)
