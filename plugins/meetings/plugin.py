"""The meetings plugin: chairs MeetBot-style meetings live, logs every line durably, writes minutes.

Each room with a meeting running has a :class:`~.engine.Meeting` in memory; every line of the room
(the bot's own included) is fed to it and handed to the group-commit writer as it arrives. At
start-up, meetings that never ended are rebuilt from their stored logs (read with the settings
they started with), so a crash or restart resumes them where they were.

One job per module: the engine folds lines (:mod:`.engine`), :mod:`.announce` says what they
did as domain events, :mod:`.commands` holds the chat commands, :mod:`.store` and
:mod:`.archive` the data, :mod:`.files` and :mod:`.render` the outputs, :mod:`.web` the pages.
This module feeds each room's lines to its meeting and carries out what the engine returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from sqlalchemy import select, update

from opsbot.domain import (
    AgendaProposed,
    DatabaseAvailability,
    ItemRevised,
    MeetingStarted,
)
from opsbot.events import (
    Edit,
    Join,
    Message,
    NickChange,
    Part,
    Redaction,
    Role,
    Room,
    RoomEvent,
)
from opsbot.memory import give_back
from opsbot.plugin import Context, Key, Plugin, RoomConfigs, on, subscribe
from opsbot.storage import Storage
from opsbot.transports import TransportError

from .announce import announce, ended_event
from .archive import Archive
from .commands import MeetingCommands
from .engine import (
    CHAIR_COMMANDS,
    Ended,
    Line,
    Meeting,
    Recorded,
    Reply,
    Revised,
    Save,
    SetTopic,
    replay,
    sanitise_name,
)
from .files import links, write_outputs
from .follow import Follower
from .help import command_help, overview
from .lines import lines_of
from .live import Live, LiveMeetings
from .livelog import LiveLog
from .models import LineRow, MeetingRow
from .paths import basename
from .render import Prepared, prepare, warm_up
from .settings import MeetingsConfig, MeetingSettings
from .store import MeetingStore, line_row

if TYPE_CHECKING:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOutputs(RoomEvent):
    """Queued in the room's lane after the bot's answers to #save or #endmeeting, so the files are
    written once those answers are in the log."""

    meeting_id: int
    final: bool


SHOWN_AT_START = 10
"""Open action items of the series listed at #startmeeting (the newest; !actions has all)."""
DATABASE_AWAY = (
    "The database is unreachable; the meeting is kept locally and will be stored when it returns."
)
DATABASE_BACK = "The database is back; the meeting is stored again as it goes."


class Meetings(MeetingCommands, Plugin):
    """MeetBot-compatible meetings: #startmeeting, #topic, #action, votes, minutes and logs."""

    web_paths = ("/meetings", "/search", "/actions")

    Config = MeetingsConfig
    config: MeetingsConfig

    async def setup(self) -> None:
        self._warming: asyncio.Task[None] | None = None
        self.store = MeetingStore(self.storage)
        await self.store.start()  # lines spooled while the database was away first
        self.live = LiveMeetings()
        site = self.web
        self.settings = MeetingSettings(
            cast(RoomConfigs[MeetingsConfig], self.room_configs),
            self.services.prefix_for,
            site.url if site is not None else None,
        )
        self.site: MeetingsSite | None = None
        if site is not None:
            from .web import MeetingsSite  # the site's code (aiohttp) only with a site

            self.site = MeetingsSite(
                Archive(self.storage),
                self.live,
                site,
                self.config.output_dir,
                self.timezone,
                self._left_leaderboards,
            )
        for row, lines in await self.store.open_meetings():
            room = Room(row.network, row.room, name=row.channel)
            meeting = Meeting(row.network, row.channel, self.settings.stored(row.settings, room))
            for line in lines:
                try:
                    meeting.feed(line)
                except Exception:
                    self.log.exception(
                        "meeting %d: line %d could not be replayed", row.id, line.seq
                    )
            if meeting.started and not meeting.ended:
                live = self.live[room.key] = Live(row.id, meeting, room)
                live.log = self._live_log(live)
                live.log.resume()
                self.log.info(
                    "resumed meeting %s in %s (%d lines)", meeting.name, room.key, len(lines)
                )
                self._warm_up()

    @classmethod
    async def forget(cls, storage: Storage, identities: list[Key], pseudonym: str) -> None:
        """The minutes and logs stay as they are (the community's record, nicks and all); the
        accounts the bot noted beside the lines, which search by person reads, become the
        pseudonym."""
        async with storage.engine.begin() as conn:
            for network, account in identities:
                await conn.execute(
                    update(LineRow)
                    .where(
                        LineRow.account == account,
                        LineRow.meeting_id.in_(
                            select(MeetingRow.id).where(MeetingRow.network == network)
                        ),
                    )
                    .values(account=pseudonym)
                )

    async def serve_site(self) -> None:
        """Standing by: the archive from the shared database and the minutes folder, and the
        meetings in progress followed as the bot logs them (:mod:`.follow`)."""
        site = self.web
        if site is None:
            return
        self.settings = MeetingSettings(
            cast(RoomConfigs[MeetingsConfig], self.room_configs),
            self.services.prefix_for,
            site.url,
        )
        from .web import MeetingsSite

        live = LiveMeetings()
        pages = MeetingsSite(
            Archive(self.storage),
            live,
            site,
            self.config.output_dir,
            self.timezone,
            self._left_leaderboards,
        )

        def meeting_of(row: MeetingRow, room: Room) -> Meeting:
            return Meeting(row.network, row.channel, self.settings.stored(row.settings, room))

        follower = Follower(
            self.storage, live, pages.feed, meeting_of, self.timezone,
            mode=self.config.live_follow, poll_seconds=self.config.live_poll_seconds,
        )  # fmt: skip
        follower.start()
        site.on_cleanup(follower.stop)

    def _warm_up(self) -> None:
        """Compile the minutes' templates in a thread once a meeting is on, so its end does not
        pay for it and a bot with no meeting does not carry the template engine."""
        if self._warming is None:
            self._warming = asyncio.create_task(asyncio.to_thread(warm_up))

    async def teardown(self) -> None:
        if self._warming is not None:  # a template that failed to compile fails at the end
            await asyncio.gather(self._warming, return_exceptions=True)
        for live in list(self.live.values()):
            if live.log is not None:
                await live.log.flush_now()
        await self.store.writer.stop()

    def help_topic(self, topic: str, prefix: str) -> str | None:
        if topic == self.name:
            return overview(prefix)
        return command_help(topic)

    # logging every line

    @on(Message, own=True)
    async def message(self, ctx: Context) -> None:
        msg = ctx.msg
        live = self.live.get(msg.room.key)
        own = msg.own
        if live is None and (own or "startmeeting" not in msg.text.lower()):
            return  # the common case: chatter outside meetings
        if (
            live is not None
            and msg.id in live.meeting.seqs_of
            and self.services.capabilities(msg.network).replays
        ):
            return  # delivered again (a network replaying from its last saved position)
        for line in lines_of(msg, own=own):
            if live is None:
                live = await self._maybe_start(ctx, line)
                if live is None:
                    continue
                ctx.claim()
            elif not own and line.kind == "message" and live.meeting.parse(line.text) is not None:
                ctx.claim()
                line = await self._with_moderation(ctx, live, line)
            await self._feed(ctx, live, line)

    @subscribe(DatabaseAvailability)
    async def database(self, event: DatabaseAvailability) -> None:
        """Tell every meeting in progress, once, that its log waits on local disk, and once
        that it is stored again."""
        text = DATABASE_BACK if event.up else DATABASE_AWAY
        for live in list(self.live.values()):
            try:
                await self.services.send(live.room, text, notice=True)
            except TransportError as error:
                self.log.warning("could not tell %s: %s", live.room.key, error)

    @subscribe(AgendaProposed)
    async def agenda(self, event: AgendaProposed) -> None:
        """An agenda from elsewhere (the pad) becomes part of the meeting's log, so a resumed
        meeting still walks it with ``#topic next``."""
        live = self.live.with_id(event.meeting_id)
        if live is None or not event.items:
            return
        nick = self.services.me(live.room.network).nick
        line = Line(ts=event.ts, nick=nick, text="\n".join(event.items), kind="agenda", is_bot=True)
        live.meeting.feed(line)
        self.store.writer.add(line_row(live.id, line))

    async def _with_moderation(self, ctx: Context, live: Live, line: Line) -> Line:
        """A chair command from a room moderator who is not a chair carries that standing."""
        parsed = live.meeting.parse(line.text)
        if (
            parsed is None
            or parsed[0] not in CHAIR_COMMANDS
            or live.meeting.is_chair(line.nick, line.account)
        ):
            return line
        if await self.services.role_of(ctx.room, ctx.sender) >= Role.OP:
            return replace(line, moderator=True)
        return line

    async def _maybe_start(self, ctx: Context, line: Line) -> Live | None:
        if line.is_bot or line.kind != "message":
            return None
        room = ctx.room
        meeting = Meeting(room.network, str(room), self.settings.now(room))
        parsed = meeting.parse(line.text)
        if parsed is None or parsed[0] != "startmeeting":
            return None
        name = sanitise_name(parsed[1]) if parsed[1] else meeting.name
        meeting_id = await self.store.create(
            room.network, room.id, str(room), name, line.ts, line.nick,
            settings=meeting.settings.to_json(),
        )  # fmt: skip
        live = Live(meeting_id, meeting, room)
        live.log = self._live_log(live)
        self.live[room.key] = live
        return live

    def _live_log(self, live: Live) -> LiveLog:
        return LiveLog(
            live.meeting, self.config_for(live.room).output_dir, self.timezone, f"meeting {live.id}"
        )

    @on(Join, Part, Edit, Redaction)
    async def room_event(self, ctx: Context) -> None:
        live = self.live.get(ctx.room.key)
        if live is not None:
            for line in lines_of(ctx.event):
                await self._feed(ctx, live, line)
        elif isinstance(ctx.event, Redaction):
            await self._redact_after_the_meeting(ctx.event)

    def _revise_stored(self, live: Live, line: Line) -> None:
        """An edit or a redaction changes the stored line it names too: the database keeps no
        copy of a redacted text (nor of an edited line's old one, for search)."""
        target = line.target_id
        if target is None or line.kind not in ("edit", "redaction"):
            return
        if line.kind == "redaction":
            self.store.revise(live.id, target, None)
        elif target not in live.meeting.redacted:
            self.store.revise(live.id, target, line.text)

    async def _redact_after_the_meeting(self, event: Redaction) -> None:
        """A line redacted after its meeting ended: gone from the database, then the outputs
        are written again without it."""
        room = event.room
        for meeting_id in await self.store.meetings_with_message(
            room.network, room.id, event.target_id
        ):
            row = await self.store.meeting(meeting_id)
            if row is None:
                continue
            settings = self.settings.stored(row.settings, room)
            before = replay(await self.store.lines(meeting_id), row.network, row.channel, settings)
            gone = [
                before.item_of[seq] for seq in before.seqs(event.target_id) if seq in before.item_of
            ]
            self.store.revise(meeting_id, event.target_id, None)
            await self.store.writer.flush()
            meeting = replay(await self.store.lines(meeting_id), row.network, row.channel, settings)
            if row.source is not None:  # an imported archive keeps the name it has
                meeting.keep_name(row.name)
            await self.write_meeting(meeting_id, room, meeting, ended=row.ended_at is not None)
            for item in gone:  # whatever holds a copy of its items (the pad) follows
                await self.emit(
                    ItemRevised(
                        meeting_id=meeting_id, network=room.network, room=room.id,
                        meeting_name=meeting.name, seq=item.seq, kind=item.kind, text="",
                        redacted=True,
                    )
                )  # fmt: skip
            self.log.info("meeting %d: a line was redacted after it ended; outputs rewritten",
                          meeting_id)  # fmt: skip

    @on(NickChange)
    async def nick(self, ctx: Context) -> None:
        """A nick change is network-wide: log it in every meeting where that nick was seen."""
        event = ctx.event
        assert isinstance(event, NickChange)
        for live in list(self.live.values()):
            if (
                live.room.network == event.network
                and event.old.nick.casefold() in live.meeting.spelling
            ):
                for line in lines_of(event):
                    await self._feed(ctx, live, line)

    async def _feed(self, ctx: Context, live: Live, line: Line) -> None:
        try:
            effects = live.meeting.feed(line)
        finally:  # whatever the engine makes of it, the line itself is never lost
            self.store.writer.add(line_row(live.id, line))
            if live.log is not None:
                live.log.add(line)
        self._revise_stored(live, line)
        if self.site is not None:
            self.site.feed.publish(live.id, line)
        link = self.site.line_url(live.id, line.seq) if self.site is not None else ""
        await announce(self.emit, live, line, effects, link)
        for effect in effects:
            if isinstance(effect, Recorded) or (
                isinstance(effect, Revised) and not effect.redacted
            ):
                prepare(live.prepared, live.meeting, effect.item, self.timezone)
            elif isinstance(effect, Reply):
                mentioned = (ctx.services.member(live.room, nick) for nick in effect.mentions)
                await self.services.send(
                    live.room, effect.text, mentions=[who for who in mentioned if who is not None]
                )
            elif isinstance(effect, SetTopic):
                await self._set_topic(ctx, live, effect.text)
            elif isinstance(effect, Save | Ended):
                finish = WriteOutputs(
                    network=live.room.network,
                    room=live.room,
                    meeting_id=live.id,
                    final=isinstance(effect, Ended),
                )
                await self.services.enqueue(finish)
        if live.meeting.started and line.seq == 0:
            await self._started(live)

    async def _started(self, live: Live) -> None:
        meeting = live.meeting
        assert meeting.owner is not None and meeting.started_at is not None
        self._warm_up()
        config = self.config_for(live.room)
        settings = meeting.settings
        base = basename(meeting.name, meeting.started_at, settings.pattern)
        self.log.info("meeting %d %s started by %s", live.id, meeting.name, meeting.owner)
        await self.emit(
            MeetingStarted(
                meeting_id=live.id,
                network=live.room.network,
                room=live.room.id,
                meeting_name=meeting.name,
                owner=meeting.owner.nick,
                owner_account=meeting.owner.account,
                chairs=tuple(c.nick for c in meeting.chairs),
                log_url=self.site.live_url(live.id)
                if self.site is not None and not meeting.restricted
                else links(base, settings.url_prefix)[".log.html"],
            )
        )
        if not config.announce_open_actions:
            return
        open_items = await self.store.open_actions(
            meeting_name=meeting.name, before_meeting=live.id
        )
        if open_items:
            shown = sorted(open_items[:SHOWN_AT_START], key=lambda a: (a.started_at, a.id))
            listed = "; ".join(
                f"({a.id}) {a.text} [{a.started_at.astimezone(self.timezone):%Y-%m-%d}]"
                for a in shown
            )
            prefix = self.services.prefix_for(live.room.network)
            more = len(open_items) - len(shown)
            rest = f" … and {more} more ({prefix}actions {meeting.name})" if more > 0 else ""
            await self.services.send(
                live.room,
                f"Open action items from earlier {meeting.name} meetings: {listed}{rest}. "
                f"Close one with {prefix}done ID.",
            )

    async def _set_topic(self, ctx: Context, live: Live, topic: str) -> None:
        if not (
            self.config_for(live.room).set_topic
            and topic
            and self.services.capabilities(ctx.network).topic
        ):
            return
        try:
            await self.services.set_topic(live.room, topic)
        except TransportError as why:
            self.log.warning("could not set the topic of %s: %s", live.room, why)

    async def _write(self, live: Live, ended: bool) -> dict[str, str]:
        if live.log is not None:
            await live.log.finish(ended)
        return await self.write_meeting(
            live.id, live.room, live.meeting, ended=ended, logs=live.log is None,
            prepared=live.prepared,
        )  # fmt: skip

    async def write_meeting(
        self,
        meeting_id: int,
        room: Room,
        meeting: Meeting,
        *,
        ended: bool,
        logs: bool = True,
        prepared: Prepared | None = None,
    ) -> dict[str, str]:
        """Write every output (only the minutes unless ``logs``; in a worker thread: rendering
        a long log takes a while) and store what the meeting became; returns the links. Where
        the files go and what their links say are the meeting's own settings; only the folder
        is today's config."""
        config = self.config_for(room)
        settings = meeting.settings
        base, summary = await asyncio.to_thread(
            write_outputs,
            meeting,
            config.output_dir,
            pattern=settings.pattern,
            url_prefix=settings.url_prefix,
            tz=self.timezone,
            logs=logs,
            prepared=prepared,
        )
        await self.store.finish(meeting_id, meeting, base, summary, ended=ended)
        return links(base, settings.url_prefix)

    @on(WriteOutputs)
    async def write_outputs(self, ctx: Context) -> None:
        event = ctx.event
        assert isinstance(event, WriteOutputs)
        live = self.live.get(event.room.key)
        if live is None or live.id != event.meeting_id:
            return
        if event.final:
            self.live.pop(live.room.key, None)
            if self.site is not None:
                self.site.feed.end(live.id)
        if self.storage.health.up:
            await self._finish(live, event.final)
            return
        # The database is away: what it must store waits (the spool keeps the log), but the
        # room's lane must not, or every line after this one would wait in memory with it.
        self.store.later(self._finish(live, event.final))

    def _left_leaderboards(self, network: str, account: str | None) -> bool:
        """Whether a person is kept out of public listings (the feeds name nobody who left)."""
        return account is not None and self.services.people.hidden([(network, account)])

    async def _finish(self, live: Live, final: bool) -> None:
        urls = await self._write(live, ended=final)
        if final:
            ids = await self.store.action_ids(live.id)
            text = await asyncio.to_thread(self._minutes_text, live)
            self.log.info("meeting %d %s ended; minutes at %s", live.id, live.meeting.name,
                          urls.get(".html", "?"))  # fmt: skip
            await self.emit(
                ended_event(live.id, live.room, live.meeting, urls, ids, minutes_text=text)
            )
            await asyncio.to_thread(give_back)  # what the meeting's lines took

    def _minutes_text(self, live: Live) -> str:
        """The .txt minutes just written (what a mail of them carries)."""
        meeting = live.meeting
        assert meeting.started_at is not None
        base = basename(meeting.name, meeting.started_at, meeting.settings.pattern)
        path = self.config_for(live.room).output_dir / f"{base}.txt"
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            self.log.warning("could not read back %s: %s", path, error)
            return ""
