"""Plugin ``schedule``: the meeting calendar inside the bot, so nobody misses a meeting and no
action item is forgotten.

Meetings are defined in irc-meetings YAML files (``definitions.py``); their dates come from
``recurrence.py``. On APScheduler, one date job per coming reminder: a notice in the meeting's
room a while before it starts (agenda link, open action items, their owners mentioned); a private
follow-up to each owner of an open action item a while before the next meeting of its series;
a weekly digest of kudos. Jobs are planned again from the definitions and the database at
start-up, after every reminder, on ``!schedule reload`` and on SIGHUP. A reminder's key is stored
before it is sent, so it goes once, never twice after a restart; one whose time passed more than
the grace ago is not sent at all.

Action items and kudos reach this plugin only as domain events (meetings, kudos), kept in its
own tables.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from aiohttp import web
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from opsbot.config import NetworkBase, room_problem
from opsbot.domain import (
    ActionItemClosed,
    FollowUpDue,
    KudosGiven,
    KudosWithdrawn,
    MeetingEnded,
    ReloadRequested,
)
from opsbot.events import Identity, Role, Room, utcnow
from opsbot.plugin import Context, Plugin, PluginConfig, Rest, command, require, subscribe
from opsbot.text import shorten

from .definitions import Definition, Entry, Loaded, load_folder
from .ical import calendar
from .models import HeardKudos, OpenAction, Sent, Skip
from .recurrence import Occurrence, meets_on, next_occurrence, occurrences

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DigestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rooms: list[str] = []
    """``network:room`` where the weekly kudos digest is posted (none: no digest)."""
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: str = "09:00"
    """HH:MM in the bot's time zone."""

    @field_validator("time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not HH:MM")
        return value


RETRY_SECONDS = 30
"""How soon a reminder that reached not every room is tried again there."""


class ScheduleConfig(PluginConfig):
    folder: Path = Path("meetings")
    """Folder of irc-meetings YAML files."""
    default_network: str | None = None
    """The network of schedule entries that name none (default: the first IRC network)."""
    also_in: dict[str, list[str]] = {}
    """Channel to further ``network:room`` its reminders go to (a Matrix room bridged to it)."""
    remind_minutes: int = Field(default=15, ge=0)
    """Notice in the meeting's room this long before it starts (0: none)."""
    follow_up_hours: int = Field(default=24, ge=0)
    """Private follow-up of open action items this long before the next meeting (0: none)."""
    grace_minutes: int = Field(default=10, ge=0)
    """A reminder whose time passed (the bot was down) is still sent within this long."""
    digest: DigestConfig = DigestConfig()


class Schedule(Plugin):
    """Meeting calendar: !next, !meetings, !skip; reminders, follow-ups, a weekly kudos digest."""

    web_paths = ("/calendar.ics",)

    Config = ScheduleConfig
    config: ScheduleConfig

    async def setup(self) -> None:
        self.loaded = Loaded({}, {}, [])
        self._jobs: set[str] = set()
        self._sent: set[str] = set()
        async with self.storage.session() as session:
            skips = (await session.scalars(select(Skip))).all()
            recent = utcnow() - timedelta(days=3)
            self._sent = set(await session.scalars(select(Sent.key).where(Sent.at >= recent)))
        self._skips: dict[str, set[date]] = {}
        for skip in skips:
            self._skips.setdefault(skip.meeting_id, set()).add(skip.day)
        await self.reload()
        site = self.web
        if site is not None:
            site.add("/calendar.ics", self.calendar_file)
            site.section("Calendar", "/calendar.ics")
        digest = self.config.digest
        if digest.rooms:
            hour, minute = (int(part) for part in digest.time.split(":"))
            trigger = CronTrigger(
                day_of_week=digest.day, hour=hour, minute=minute, timezone=self.timezone
            )
            self.jobs.add("digest", self.post_digest, trigger)

    async def teardown(self) -> None:
        for job in self._jobs:
            self.jobs.remove(job)

    # the calendar

    async def serve_site(self) -> None:
        """Standing by: the calendar from the meeting definitions (read again on SIGHUP)."""
        site = self.web
        if site is not None:
            self.loaded = await asyncio.to_thread(load_folder, self.config.folder)
            site.add("/calendar.ics", self.calendar_file)
            site.section("Calendar", "/calendar.ics")

    async def reload(self) -> Loaded:
        """Read the YAML folder again (in a worker thread: hundreds of files take a while) and
        plan the jobs; problems are logged and returned."""
        self.loaded = await asyncio.to_thread(load_folder, self.config.folder)
        for problem in self.loaded.problems:
            self.log.warning("meeting definitions: %s", problem)
        self.plan()
        return self.loaded

    @property
    def definitions(self) -> list[Definition]:
        return list(self.loaded.definitions.values())

    @classmethod
    def config_problems(
        cls, config: PluginConfig, networks: Sequence[NetworkBase]
    ) -> list[tuple[str, str]]:
        assert isinstance(config, ScheduleConfig)
        found = []
        for channel, targets in config.also_in.items():
            for i, target in enumerate(targets):
                wrong = room_problem(networks, target)
                if wrong is not None:
                    found.append((f'also_in."{channel}"[{i}]', wrong))
        for i, target in enumerate(config.digest.rooms):
            wrong = room_problem(networks, target)
            if wrong is not None:
                found.append((f"digest.rooms[{i}]", wrong))
        return found

    def network_of(self, entry: Entry) -> str:
        if entry.network:
            return entry.network
        if self.config.default_network:
            return self.config.default_network
        networks = self.services.networks()
        irc = [name for name in networks if self.services.capabilities(name).topic]
        return (irc or networks or ["irc"])[0]

    def rooms_of(self, entry: Entry) -> list[Room]:
        """Where a meeting's reminders go: its channel and ``also_in``, each once (a room bridged
        to the channel is the channel's one room, reached through the bridge)."""
        rooms = [self.services.room(self.network_of(entry), entry.room or entry.irc)]
        for extra in self.config.also_in.get(entry.irc, []):
            network, _, room = extra.partition(":")
            rooms.append(self.services.room(network, room))
        return list(dict.fromkeys(rooms))

    def upcoming(self, start: datetime, end: datetime) -> list[Occurrence]:
        return occurrences(self.definitions, start, end, self._skips)

    def next_of(self, meeting_id: str, after: datetime) -> Occurrence | None:
        definition = self.loaded.definitions.get(meeting_id)
        if definition is None:
            return None
        return next_occurrence(definition, after, self._skips.get(meeting_id, set()))

    async def calendar_file(self, request: web.Request) -> web.Response:
        """Every meeting as iCalendar, for calendar programs to subscribe to."""
        body = calendar(self.definitions, utcnow().date(), name="Meetings").to_ical()
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Content-Disposition": 'inline; filename="calendar.ics"'},
        )

    # jobs

    def plan(self) -> None:
        """(Re)schedule one job per coming reminder and follow-up, from the definitions."""
        for job in self._jobs:
            self.jobs.remove(job)
        self._jobs.clear()
        now = utcnow()
        grace = timedelta(minutes=self.config.grace_minutes)
        leads = {
            "remind": timedelta(minutes=self.config.remind_minutes),
            "follow": timedelta(hours=self.config.follow_up_hours),
        }
        for kind, lead in leads.items():
            if not lead:
                continue
            planned: set[tuple[str, int]] = set()
            for found in self.upcoming(now - grace + lead, now + timedelta(days=60) + lead):
                series = (found.meeting_id, found.index)
                key = f"{kind}:{found.meeting_id}:{found.start:%Y%m%dT%H%M}"
                if series in planned or key in self._sent:
                    continue
                planned.add(series)
                due = max(found.start - lead, now)
                run = self._reminder if kind == "remind" else self._follow_up

                self.jobs.add(
                    key,
                    functools.partial(run, found, key),
                    DateTrigger(run_date=due),
                    misfire_grace_time=int(grace.seconds) or 1,
                )
                self._jobs.add(key)

    async def _once(self, key: str) -> bool:
        """Take ``key`` for good; False if it was taken before (sent already)."""
        self._sent.add(key)
        try:
            async with self.storage.session() as session, session.begin():
                session.add(Sent(key=key, at=utcnow()))
        except IntegrityError:
            return False
        return True

    async def _reminder(self, found: Occurrence, key: str) -> None:
        """Queue the reminder for each of the meeting's rooms in the durable outbox (once per
        room, whatever restarts); a room it cannot reach is tried again with the outbox's
        backoff and every RETRY_SECONDS while within the grace, then the bot admins are told."""
        last = found.start - timedelta(
            minutes=self.config.remind_minutes - self.config.grace_minutes
        )
        if utcnow() >= last or not await self._once(key):  # taken for good: said once
            self.plan()
            return
        actions = await self.open_actions(found.meeting_id)
        text, mentions = self._reminder_text(found, actions)
        for room in self.rooms_of(found.entry):
            self.services.say_later(
                room,
                text,
                key=f"{key}:{room.key}",
                expires_at=last,
                mentions=[m for m in mentions if m.network == room.network],
                undelivered=f"The reminder of {found.meeting_id} ({self.when(found.start)}) "
                f"could not be delivered to {room.key}",
            )
        # The outbox waits longer after each failure; while the meeting has not started, try
        # at the meeting's own pace too, and once more when the grace is over.
        moment, step = utcnow(), timedelta(seconds=RETRY_SECONDS)
        while (moment := moment + step) < last:
            self._retry_at(key, moment)
        self._retry_at(key, last + timedelta(seconds=1))
        self.plan()

    def _retry_at(self, key: str, moment: datetime) -> None:
        self.jobs.add(
            f"{key}:retry:{moment:%H%M%S}",
            self._retry,
            DateTrigger(run_date=moment),
            misfire_grace_time=RETRY_SECONDS,
        )

    async def _retry(self) -> None:
        self.services.retry_deliveries()

    def _reminder_text(
        self, found: Occurrence, actions: list[OpenAction]
    ) -> tuple[str, list[Identity]]:
        definition = found.definition
        minutes = round((found.start - utcnow()).total_seconds() / 60)
        soon = f"starts in {minutes} minutes" if minutes > 0 else "starts now"
        parts = [
            f"Meeting reminder: {definition.project} ({found.meeting_id}) {soon}, {self.when(found.start)}."
        ]
        if definition.agenda_url:
            parts.append(f"Agenda: {definition.agenda_url}")
        mentions: dict[str, Identity] = {}
        if actions:
            listed = []
            for action in actions[:10]:
                listed.append(f"({action.action_id}) {action.text}")
                for nick, account in action.owners:
                    mentions.setdefault(nick.casefold(), Identity(action.network, account, nick))
            more = f" and {len(actions) - 10} more" if len(actions) > 10 else ""
            owners = ", ".join(m.nick for m in mentions.values())
            parts.append(
                f"Open action items: {'; '.join(listed)}{more}."
                + (f" Owners: {owners}." if owners else "")
            )
        return " ".join(parts), list(mentions.values())

    async def _follow_up(self, found: Occurrence, key: str) -> None:
        """Each owner of an open action item of the series hears of it privately, once
        (through the durable outbox), before the meeting starts."""
        for action in await self.open_actions(found.meeting_id):
            for nick, account in action.owners:
                if action.network not in self.services.networks():
                    continue
                text = (
                    f"Before {found.meeting_id} {self.when(found.start)}: your action item "
                    f'({action.action_id}) "{action.text}" from {action.ended_at:%Y-%m-%d} '
                    f"is still open. Say {self.services.prefix_for(action.network)}done "
                    f"{action.action_id} when it is done."
                )
                once = f"{key}:{action.action_id}:{nick.casefold()}"
                if self.services.heard(FollowUpDue):
                    # Another plugin delivers follow-ups (mail) and falls back to chat itself.
                    await self.services.emit(
                        FollowUpDue(
                            network=action.network, account=account, nick=nick,
                            action_id=action.action_id, action_text=action.text,
                            meeting_name=found.meeting_id, text=text, key=once,
                            expires_at=found.start,
                        )
                    )  # fmt: skip
                    continue
                who = Identity(action.network, account, nick)
                self.services.tell_later(who, text, key=once, expires_at=found.start)
        self._sent.add(key)
        self.plan()

    async def open_actions(self, meeting_id: str) -> list[OpenAction]:
        async with self.storage.session() as session:
            rows = await session.scalars(
                select(OpenAction)
                .where(OpenAction.meeting_name == meeting_id)
                .order_by(OpenAction.meeting.desc(), OpenAction.action_id)
            )
            return list(rows)

    async def post_digest(self) -> None:
        """The week's kudos by category, in the digest rooms (nothing when there were none)."""
        since = utcnow() - timedelta(days=7)
        async with self.storage.session() as session:
            rows = (await session.scalars(select(HeardKudos).where(HeardKudos.ts >= since))).all()
        hidden = self.services.people.everyone_hidden()
        if not rows:
            self.log.info("no kudos this week: no digest")
            return
        people = {(r.network, r.receiver_key) for r in rows}
        by_category: dict[str, dict[str, int]] = {}
        for row in rows:
            if (row.network, row.receiver_key) in hidden:
                continue
            names = by_category.setdefault(row.category, {})
            names[row.receiver_nick] = names.get(row.receiver_nick, 0) + 1
        parts = []
        for category, names in sorted(by_category.items()):
            ranked = sorted(names.items(), key=lambda n: (-n[1], n[0].casefold()))
            parts.append(
                f"#{category}: " + ", ".join(f"{n} ({c})" if c > 1 else n for n, c in ranked)
            )
        named = "; ".join(parts) + ". " if parts else ""
        text = f"Kudos this week: {len(rows)} to {len(people)} people. {named}Thank you all!"
        week = f"{utcnow():%G-W%V}"
        for where in self.config.digest.rooms:
            network, _, room = where.partition(":")
            self.services.say_later(
                self.services.room(network, room),
                text,
                key=f"digest:{week}:{where}",
                expires_at=utcnow() + timedelta(hours=1),
            )

    # what the other plugins tell

    @subscribe(MeetingEnded)
    async def meeting_ended(self, event: MeetingEnded) -> None:
        if event.imported or not event.action_ids:
            return
        folded = {nick.casefold(): account for nick, account in event.accounts.items()}
        rows = [
            OpenAction(
                action_id=action_id,
                meeting=event.meeting_id,
                meeting_name=event.meeting_name,
                network=event.network,
                ended_at=event.ts,
                text=text,
                owners=[[owner, folded.get(owner.casefold())] for owner in owners],
            )
            for action_id, (text, owners) in zip(event.action_ids, event.actions, strict=False)
        ]
        async with self.storage.session() as session, session.begin():
            for row in rows:
                await session.merge(row)

    @subscribe(ActionItemClosed)
    async def action_closed(self, event: ActionItemClosed) -> None:
        async with self.storage.session() as session, session.begin():
            await session.execute(delete(OpenAction).where(OpenAction.action_id == event.action_id))

    @subscribe(KudosGiven)
    async def kudos_given(self, event: KudosGiven) -> None:
        async with self.storage.session() as session, session.begin():
            session.add(
                HeardKudos(
                    kudos_id=event.kudos_id,
                    ts=event.ts,
                    network=event.receiver[0],
                    receiver_key=event.receiver[1],
                    receiver_nick=event.receiver_nick,
                    category=event.category,
                )
            )
            await session.execute(
                delete(HeardKudos).where(HeardKudos.ts < utcnow() - timedelta(days=30))
            )

    @subscribe(KudosWithdrawn)
    async def kudos_withdrawn(self, event: KudosWithdrawn) -> None:
        async with self.storage.session() as session, session.begin():
            await session.execute(delete(HeardKudos).where(HeardKudos.kudos_id == event.kudos_id))

    @subscribe(ReloadRequested)
    async def reload_requested(self, event: ReloadRequested) -> None:
        await self.reload()

    # chat

    def when(self, moment: datetime) -> str:
        """``Tue 2026-12-01 14:00 UTC``, with the bot's own zone beside it where it differs."""
        shown = f"{moment:%a %Y-%m-%d %H:%M} UTC"
        local = moment.astimezone(self.timezone)
        if local.utcoffset() != timedelta(0) or str(self.timezone) not in ("UTC", "Etc/UTC"):
            shown += (
                f" ({local:%H:%M %Z})"
                if local.date() == moment.date()
                else f" ({local:%a %H:%M %Z})"
            )
        return shown

    def _describe(self, found: Occurrence) -> str:
        where = ", ".join(room.id for room in self.rooms_of(found.entry)[:1])
        return f"{found.meeting_id} {self.when(found.start)} in {where}"

    @command("next", usage="[MEETING]", help="When a meeting (or the next one here) meets next.")
    async def next_meeting(self, ctx: Context, meeting: str | None = None) -> None:
        now = utcnow()
        if meeting is not None:
            name = meeting.lower()
            if name not in self.loaded.definitions:
                await ctx.reply(self._unknown(name))
                return
            found = self.next_of(name, now)
            if found is None:
                await ctx.reply(f"{name} has no date ahead (ad hoc, or every date skipped).")
                return
        else:
            coming = self.upcoming(now, now + timedelta(days=60))
            here = [o for o in coming if ctx.room in self.rooms_of(o.entry)]
            if not coming:
                await ctx.reply("No meetings in the next 60 days.")
                return
            found = (here or coming)[0]
        agenda = f" Agenda: {found.definition.agenda_url}" if found.definition.agenda_url else ""
        await ctx.reply(f"Next: {found.definition.project}, {self._describe(found)}.{agenda}")

    @command("meetings", usage="[today|week]", help="Meetings today or in the next seven days.")
    async def meetings(self, ctx: Context, span: str = "today") -> None:
        if span not in ("today", "week"):
            await ctx.reply("Say !meetings today or !meetings week.")
            return
        now = utcnow()
        local_today = now.astimezone(self.timezone).date()
        if span == "today":
            end = datetime.combine(
                local_today + timedelta(days=1), datetime.min.time(), self.timezone
            )
            label = "today"
        else:
            end = now + timedelta(days=7)
            label = "in the next seven days"
        found = self.upcoming(now, end.astimezone(UTC))
        if not found:
            await ctx.reply(f"No meetings {label}.")
            return
        shown = "; ".join(self._describe(o) for o in found[:15])
        more = f" … and {len(found) - 15} more." if len(found) > 15 else ""
        await ctx.reply(f"Meetings {label}: {shown}{more}")

    @command(
        "skip",
        usage="MEETING YYYY-MM-DD REASON",
        help="Cancel one meeting (its chairs, room moderators, bot admins).",
    )
    async def skip(self, ctx: Context, meeting: str, day: str, reason: Rest) -> None:
        name = meeting.lower()
        definition = self.loaded.definitions.get(name)
        if definition is None:
            await ctx.reply(self._unknown(name))
            return
        chair = (
            ctx.sender.nick.casefold() in definition.chair_nicks()
            or (ctx.sender.account or "").casefold() in definition.chair_nicks()
        )
        if not chair and await ctx.role() < Role.OP:
            await ctx.reply(
                f"Only a chair of {name} ({definition.chair or 'none named'}) or a room moderator may skip it."
            )
            return
        try:
            when = date.fromisoformat(day)
        except ValueError:
            await ctx.reply(f"{day!r} is not a date (YYYY-MM-DD).")
            return
        if when < utcnow().date():
            await ctx.reply(f"{when} is past.")
            return
        if not any(meets_on(entry, when) for entry in definition.schedule):
            days = ", ".join(f"{e.day} ({e.frequency})" for e in definition.schedule)
            await ctx.reply(f"{name} does not meet on {when:%a %Y-%m-%d}; it meets {days}.")
            return
        if not reason.strip():
            await ctx.reply("Give a reason: !skip MEETING DATE REASON.")
            return
        async with self.storage.session() as session, session.begin():
            await session.merge(
                Skip(
                    meeting_id=name,
                    day=when,
                    reason=reason.strip(),
                    by=f"{ctx.room.network}:{ctx.sender.account or ctx.sender.nick}",
                    at=utcnow(),
                )
            )
        self._skips.setdefault(name, set()).add(when)
        self.plan()
        after = self.next_of(
            name, datetime.combine(when + timedelta(days=1), datetime.min.time(), UTC)
        )
        then = f" Next: {self.when(after.start)}." if after else ""
        await ctx.reply(f"{name} on {when:%a %Y-%m-%d} is skipped: {reason.strip()}.{then}")

    @command("schedule reload", usage="", help="Read the meeting definitions again.")
    @require(Role.BOT_ADMIN, refusal="Only bot admins may reload the meeting definitions.")
    async def schedule_reload(self, ctx: Context) -> None:
        loaded = await self.reload()
        bad = len({p.file for p in loaded.problems})
        problems = (
            f"; {bad} files with problems (see the log): "
            + "; ".join(str(p) for p in loaded.problems[:3])
            if bad
            else ""
        )
        await ctx.reply(
            f"Loaded {len(loaded.definitions)} meetings from {self.config.folder}{problems}"
        )

    def _unknown(self, name: str) -> str:
        known = ", ".join(sorted(self.loaded.definitions)[:10]) or "none"
        return f"No meeting named {shorten(name)!r} (known: {known})."
