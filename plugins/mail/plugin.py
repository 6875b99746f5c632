"""Plugin ``mail``: the minutes to the mailing list at ``#endmeeting``, through the durable outbox.

It hears the meetings plugin's domain events only: at ``#endmeeting`` a mail to the lists
configured for the meeting's name (else the room's), with the summary, the action items by person,
the links (minutes, log, the pad the etherpad plugin chose) and the ``.txt`` minutes. The mail
is made once (its Message-ID with it) and queued in the core outbox (channel ``mail``, one target
per SMTP server: one delivery at a time per server), so a mail server away, or a restart of the
bot, loses nothing and sends nothing twice. Chairs may say ``#mail to LIST`` or ``#mail off``;
``!mail status`` tells what waits and what was refused.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.domain import (
    ChairsChanged,
    FollowUpDue,
    ItemRevised,
    MeetingEnded,
    MeetingStarted,
    PadChosen,
)
from opsbot.events import Identity, Room, utcnow
from opsbot.groupcommit import GroupCommit
from opsbot.outbox import Entry, Held
from opsbot.people import any_identity
from opsbot.plugin import Context, Key, Plugin, PluginConfig, command, match, subscribe
from opsbot.storage import Storage

from . import smtp
from .addresses import CODE_LIFETIME, Addresses, TooSoon, looks_like_code
from .compose import (
    TEMPLATES,
    Addressing,
    Minutes,
    compose,
    new_message_id,
    personal,
    valid_address,
    waiting,
)
from .models import Address, MailMeeting, SentMail
from .smtp import SMTP, Refused, SmtpServer

CHANNEL = "mail"
BATCH = 20
"""Mails sent over one SMTP session, at most."""
PERSONAL = {"verify", "follow-up"}
"""Mails to one person: their address and text are not kept once sent."""
REDACTED = {"redacted": True, "text": "", "topics": [], "actions": [], "minutes_text": ""}
"""What a waiting minutes mail takes when a line of its meeting is redacted: only the links."""
SUBJECT_FIELDS = {"meeting_name", "date", "room", "network"}


def _archive_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", "_".join(name.lower().split()))


def _addresses(values: list[str]) -> list[str]:
    bad = [value for value in values if not valid_address(value)]
    if bad:
        raise ValueError(f"not a mail address: {', '.join(bad)}")
    return values


def _subject(template: str | None) -> str | None:
    if template is None:
        return None
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = fields - SUBJECT_FIELDS
    if unknown:
        known = ", ".join(sorted(SUBJECT_FIELDS))
        raise ValueError(f"unknown field {{{sorted(unknown)[0]}}} (known: {known})")
    return template


class ListMail(BaseModel):
    """Where the minutes of one meeting name go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: list[str] = []
    cc: list[str] = []
    reply_to: str | None = None
    subject: str | None = None

    _to = field_validator("to", "cc")(_addresses)
    _subject = field_validator("subject")(_subject)


class MailConfig(PluginConfig):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    servers: dict[str, SmtpServer] = {}
    server: str | None = None
    """Which server sends; default: the first one."""
    sender: str = Field(default="opsbot <opsbot@localhost>", alias="from")
    to: list[str] = []
    """The lists every meeting's minutes go to (per room with ``rooms:``), unless ``meetings``
    names the meeting."""
    cc: list[str] = []
    reply_to: str | None = None
    meetings: dict[str, ListMail] = {}
    """Per meeting name (as in ``#startmeeting NAME``, case-insensitive): its own lists."""
    subject: str = "{meeting_name} meeting minutes {date}"
    """Fields: {meeting_name}, {date} (YYYY-MM-DD), {room}, {network}."""
    minutes: Literal["attach", "inline", "none"] = "attach"
    """The .txt minutes: attached, in the body, or only linked."""
    html: bool = False
    """Add an HTML alternative of the body."""
    templates: Path | None = None
    """A folder with your own minutes.txt / minutes.html (Jinja), over the plugin's."""
    restricted: bool = False
    """Mail the minutes of #restrictlogs meetings too (to these same lists)."""
    retry_min: float = Field(default=5.0, gt=0)
    retry_max: float = Field(default=600.0, gt=0)
    rescan_seconds: int = Field(default=30, ge=1)
    """How often mail queued by another process (``opsbot mail resend``) is looked for."""

    _to = field_validator("to", "cc")(_addresses)
    _subject = field_validator("subject")(_subject)

    @field_validator("sender", "reply_to")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        if value is not None and not valid_address(value):
            raise ValueError(f"not a mail address: {value}")
        return value

    @model_validator(mode="after")
    def _known_server(self) -> MailConfig:
        if self.server is not None and self.server not in self.servers:
            raise ValueError(f"server {self.server!r} is not one of servers")
        return self

    @property
    def sender_address(self) -> str:
        """The envelope sender: the address of ``from``."""
        return parseaddr(self.sender)[1]

    def server_name(self) -> str | None:
        return self.server if self.server is not None else next(iter(self.servers), None)

    def lists_for(self, meeting_name: str) -> ListMail:
        """The lists of a meeting, named in config as the chair writes it or as the archive
        does (``Ops Meetup Team``, ``ops_meetup_team``)."""
        wanted = _archive_name(meeting_name)
        for name, lists in self.meetings.items():
            if _archive_name(name) == wanted:
                return lists
        return ListMail(to=self.to, cc=self.cc, reply_to=self.reply_to)


@dataclass
class Running:
    """What the plugin keeps of a running meeting."""

    meeting_id: int
    meeting_name: str
    room: Room
    chairs: set[tuple[str, str | None]] = field(default_factory=set)
    pad_url: str | None = None
    recipients: list[str] | None = None
    off: bool = False


class Mail(Plugin):
    """Mail the minutes to the mailing lists at #endmeeting; !mail status."""

    Config = MailConfig
    config: MailConfig

    @classmethod
    async def forget(cls, storage: Storage, identities: list[Key], pseudonym: str) -> None:
        """The person's mail addresses go."""
        async with storage.session() as session, session.begin():
            for network, account in identities:
                await session.execute(
                    delete(Address).where(Address.network == network, Address.account == account)
                )

    @classmethod
    async def personal_data(cls, storage: Storage, identities: list[Key]) -> dict[str, Any]:
        """The person's own mail address (verified, or waiting for its code)."""
        mine = any_identity(Address.network, Address.account, identities)
        async with storage.session() as session:
            rows = (await session.scalars(select(Address).where(mine))).all()
        return {
            "addresses": [
                {"identity": f"{r.network}:{r.account}", "address": r.address,
                 "verified_at": r.verified_at.isoformat() if r.verified_at else None,
                 "waiting_for_its_code": r.pending}
                for r in rows
            ]
        } if rows else {}  # fmt: skip

    async def setup(self) -> None:
        self.running: dict[str, Running] = {}
        self.addresses = Addresses(self.storage)
        self.writer: GroupCommit[dict[str, Any]] = GroupCommit(
            self._write, name="mail meetings writer", storage=self.storage
        )
        await self.writer.start()  # what was spooled while the database was away, first
        async with self.storage.session() as session:
            for row in await session.scalars(select(MailMeeting).where(MailMeeting.open)):
                room = self.services.room(row.network, row.room)
                running = Running(row.meeting_id, row.meeting_name, room)
                running.chairs = {(str(nick), account) for nick, account in row.chairs}
                running.pad_url, running.recipients = row.pad_url, row.recipients
                running.off = row.off
                self.running[room.key] = running
        await self.services.outbox.register(
            CHANNEL,
            self._deliver,
            batch=BATCH,
            held=self._held,
            first_delay=self.config.retry_min,
            most_delay=self.config.retry_max,
        )
        self.jobs.add("rescan", self._rescan, "interval", seconds=self.config.rescan_seconds)

    async def _rescan(self) -> None:
        await self.services.outbox.rescan(CHANNEL)

    # the meeting as it goes

    async def teardown(self) -> None:
        await self.writer.stop()

    def _save(self, running: Running, *, still_open: bool = True) -> None:
        """Keep what a restart mid-meeting needs (a chair's ``#mail`` choice), through a group
        commit: spooled at once, stored without holding up the meeting."""
        self.writer.add(
            {
                "meeting_id": running.meeting_id, "network": running.room.network,
                "room": running.room.id, "meeting_name": running.meeting_name,
                "chairs": [[nick, account] for nick, account in sorted(running.chairs, key=str)],
                "pad_url": running.pad_url, "recipients": running.recipients,
                "off": running.off, "open": still_open,
            }
        )  # fmt: skip

    async def _write(self, items: list[dict[str, Any]], conn: AsyncConnection) -> None:
        latest = {item["meeting_id"]: item for item in items}  # the last word on each meeting
        await conn.execute(delete(MailMeeting).where(MailMeeting.meeting_id.in_(list(latest))))
        await conn.execute(insert(MailMeeting), list(latest.values()))

    def _running(self, network: str, room: str) -> Running | None:
        return self.running.get(self.services.room(network, room).key)

    @subscribe(MeetingStarted)
    async def started(self, event: MeetingStarted) -> None:
        room = self.services.room(event.network, event.room)
        running = Running(event.meeting_id, event.meeting_name, room)
        running.chairs = {(event.owner, event.owner_account)} | {(c, None) for c in event.chairs}
        self.running[room.key] = running
        self._save(running)

    @subscribe(ChairsChanged)
    async def chairs_changed(self, event: ChairsChanged) -> None:
        running = self._running(event.network, event.room)
        if running is not None:
            running.chairs = set(event.chairs)
            self._save(running)

    @subscribe(PadChosen)
    async def pad_chosen(self, event: PadChosen) -> None:
        running = self._running(event.network, event.room)
        if running is not None and running.meeting_id == event.meeting_id:
            running.pad_url = event.url
            self._save(running)

    # where the minutes go

    def _addressing(self, running: Running, event: MeetingEnded) -> Addressing | None:
        config = self.config_for(running.room)
        lists = config.lists_for(event.meeting_name)
        to = running.recipients if running.recipients is not None else lists.to
        if running.off or not to:
            return None
        cc = lists.cc if running.recipients is None else []
        started = event.started_at or event.ts
        subject = (lists.subject or config.subject).format(
            meeting_name=event.title or event.meeting_name,
            date=started.astimezone(self.timezone).strftime("%Y-%m-%d"),
            room=running.room.name or running.room.id,
            network=running.room.network,
        )
        return Addressing(config.sender, to, cc, lists.reply_to or config.reply_to, subject)

    def _where(self, running: Running) -> str:
        config = self.config_for(running.room)
        if running.off:
            return "No mail of the minutes for this meeting (a chair said #mail off)."
        lists = config.lists_for(running.meeting_name)
        to = running.recipients if running.recipients is not None else lists.to
        if not to:
            return "No mailing list is configured for this meeting; a chair can say #mail to LIST."
        return f"At #endmeeting the minutes go by mail to {', '.join(to)}."

    @subscribe(MeetingEnded)
    async def ended(self, event: MeetingEnded) -> None:
        if event.imported:
            return  # an archive read long after: its mail went, or never should
        room = self.services.room(event.network, event.room)
        running = self.running.pop(room.key, None)
        if running is None or running.meeting_id != event.meeting_id:
            running = Running(event.meeting_id, event.meeting_name, room)
        else:
            self._save(running, still_open=False)
        config = self.config_for(room)
        if event.restricted and not config.restricted:
            self.log.info("%s was restricted: no mail of its minutes", event.meeting_name)
            return
        addressing = self._addressing(running, event)
        server = config.server_name()
        if addressing is None or server is None:
            return
        message_id = new_message_id(config.sender, f"minutes.{event.meeting_id}")
        # The mail is written when it is delivered (off #endmeeting's path); what it tells of
        # the meeting is kept in fields a redaction empties (see ``revised``).
        self.services.outbox.add(
            CHANNEL,
            server,
            {
                "kind": "minutes", "meeting_id": event.meeting_id, "network": room.network,
                "room": room.id, "meeting_name": event.meeting_name,
                "subject": addressing.subject, "message_id": message_id,
                "sender": addressing.envelope_sender, "recipients": addressing.recipients,
                "chairs": [[nick, account] for nick, account in event.chairs],
                "addressing": {
                    "sender": addressing.sender, "to": addressing.to, "cc": addressing.cc,
                    "reply_to": addressing.reply_to, "subject": addressing.subject,
                },
                "title": event.title or event.meeting_name, "room_name": room.name or room.id,
                "started_at": (event.started_at or event.ts).isoformat(),
                "links": dict(event.links), "pad_url": running.pad_url,
                "topics": list(event.topics),
                "actions": [[text, list(owners)] for text, owners in event.actions],
                "minutes_text": event.minutes_text,
            },
            key=f"minutes:{event.meeting_id}",
            ref=f"minutes:{event.meeting_id}",
        )  # fmt: skip
        await self.services.send(room, f"The minutes go by mail to {', '.join(addressing.to)}.")

    @subscribe(ItemRevised)
    async def revised(self, event: ItemRevised) -> None:
        """A line was redacted after the meeting ended: a mail still waiting goes without the
        summary and the minutes' text (only the links, whose pages follow the redaction), and
        the copy kept for a resend too."""
        if not event.redacted:
            return
        ref = f"minutes:{event.meeting_id}"
        self.services.outbox.revise(CHANNEL, ref, REDACTED, scrub=True, follow_up=False)
        async with self.storage.session() as session, session.begin():
            for row in await session.scalars(
                select(SentMail).where(SentMail.meeting_id == event.meeting_id)
            ):
                row.text = row.bare or ""

    # delivering

    async def _deliver(self, entries: list[Entry]) -> int:
        """A run of waiting mails over one SMTP session, in order. A failure after some went
        returns how many went (the rest wait for the next try); before any, it is raised."""
        server = self.config.servers.get(entries[0].target)
        if server is None:
            raise Held(f"the mail server {entries[0].target!r} is no longer in the config")
        done = 0
        try:
            async with smtp.connected(server) as client:
                for entry in entries:
                    await self._deliver_one(client, server, entry)
                    done += 1
        except Exception:
            if not done:
                raise
            self.log.warning("mail via %s stopped after %d of %d", server.address, done,
                             len(entries), exc_info=True)  # fmt: skip
        return done

    async def _deliver_one(self, client: SMTP, server: SmtpServer, entry: Entry) -> None:
        mail = entry.payload
        if mail["kind"] == "minutes" and "bare" not in mail:  # else written by `mail resend`
            mail["text"], mail["bare"] = self._written(mail)
        text = mail["bare"] if mail.get("redacted") else mail["text"]
        try:
            refused = await smtp.send_on(client, mail["sender"], mail["recipients"], text)
        except Refused as error:
            self.log.error("%s refused %s: %s", server.address, mail["subject"], error)
            await self._record(entry, "refused", str(error))
            self._tell_refused(entry, str(error))
            return
        if refused:
            reasons = "; ".join(f"{address}: {why}" for address, why in refused.items())
            await self._record(entry, "refused", reasons)
            self._tell_refused(entry, reasons)
        else:
            await self._record(entry, "sent", None)
        self.log.info("mailed %s (%s) via %s", mail["subject"], mail["message_id"], server.address)

    def _written(self, mail: dict[str, Any]) -> tuple[str, str]:
        """The minutes mail as sent, and as sent if a line is redacted later (links only)."""
        config = self.config_for(self.services.room(mail["network"], mail["room"]))
        minutes = Minutes(
            meeting_id=mail["meeting_id"], meeting_name=mail["title"], room=mail["room_name"],
            started_at=datetime.fromisoformat(mail["started_at"]),
            chairs=[nick for nick, _ in mail["chairs"]], topics=list(mail["topics"]),
            actions=[(text, list(owners)) for text, owners in mail["actions"]],
            links=dict(mail["links"]), pad_url=mail["pad_url"], minutes_text=mail["minutes_text"],
        )  # fmt: skip
        addressing = Addressing(**mail["addressing"])
        options: dict[str, Any] = {
            "message_id": mail["message_id"],
            "attach": config.minutes == "attach",
            "inline": config.minutes == "inline",
            "html": config.html,
            "tz": self.timezone,
            "templates": config.templates or TEMPLATES,
        }
        full = compose(minutes, addressing, **options)
        bare = compose(minutes, addressing, bare=True, **options)
        return full.as_string(), bare.as_string()

    async def _record(self, entry: Entry, state: str, error: str | None) -> None:
        mail = entry.payload
        personal_mail = mail["kind"] in PERSONAL
        try:
            async with self.storage.session() as session, session.begin():
                session.add(
                    SentMail(
                        meeting_id=mail.get("meeting_id"), network=mail["network"],
                        room=mail["room"], kind=mail["kind"], subject=mail["subject"],
                        message_id=mail["message_id"], server=entry.target,
                        recipients=[] if personal_mail else mail["recipients"],
                        state=state, error=error,
                        text="" if personal_mail else (
                            mail["bare"] if mail.get("redacted") else mail["text"]
                        ),
                        bare=None if personal_mail else mail.get("bare"),
                        queued_at=utcnow(), sent_at=utcnow(),
                    )
                )  # fmt: skip
        except Exception:
            # Gone already: a retry would send it twice. What was lost is only the record.
            self.log.exception("mailed %s but could not record it", mail["subject"])

    def _tell_refused(self, entry: Entry, reason: str) -> None:
        mail = entry.payload
        if mail["network"] not in self.services.networks():
            return
        if mail["kind"] in PERSONAL:
            who = Identity(mail["network"], mail["account"], mail["nick"])
            what = "the code" if mail["kind"] == "verify" else "a follow-up"
            self.services.tell_later(
                who,
                f"The mail server refused {what} for your address: {reason}. "
                f"Check it, then say {self.services.prefix_for(who.network)}mail verify ADDRESS.",
                key=f"mail-refused:{entry.id}",
            )
            if mail["kind"] == "follow-up":
                self.services.tell_later(who, mail["chat_text"], key=mail["key"])
            return
        if mail["kind"] != "minutes":
            return
        chairs = [Identity(mail["network"], account, nick) for nick, account in mail["chairs"]]
        self.services.say_later(
            self.services.room(mail["network"], mail["room"]),
            f"{', '.join(c.nick for c in chairs) + ': ' if chairs else ''}the mail server "
            f"refused the minutes of {mail['meeting_name']}: {reason}. It is not sent again; "
            f"fix the address, then `opsbot mail resend {mail['meeting_id']}`.",
            key=f"mail-refused:{entry.id}",
            mentions=chairs,
        )

    async def _held(self, entry: Entry, error: Exception) -> None:
        mail = entry.payload
        text = f"Mail is held: {error}. It is kept and tried again; an admin must act."
        await self.services.tell_admins(text)
        if mail["kind"] == "minutes" and mail["network"] in self.services.networks():
            room = self.services.room(mail["network"], mail["room"])
            await self.services.send(room, text)

    # chat

    @match(r"^#mail\s*$")
    async def where(self, ctx: Context) -> None:
        running = self.running.get(ctx.room.key)
        if running is None:
            await ctx.reply("There is no meeting here; !mail status tells what was mailed.")
            return
        await ctx.reply(self._where(running))

    @match(r"^#mail\s+(?P<what>.+?)\s*$")
    async def steer(self, ctx: Context, what: str) -> None:
        running = self.running.get(ctx.room.key)
        if running is None:
            await ctx.reply("There is no meeting here whose mail to steer.")
            return
        if not await ctx.chair_or_moderator(running.chairs):
            await ctx.reply("Only the meeting's chairs can steer its mail.")
            return
        words = what.split(None, 1)
        verb = words[0].casefold()
        if verb == "off":
            running.off = True
        elif verb == "on":
            running.off = False
            running.recipients = None
        elif verb == "to" and len(words) == 2:
            wanted = [a.strip() for a in words[1].replace(",", " ").split() if a.strip()]
            bad = [address for address in wanted if not valid_address(address)]
            if bad:
                await ctx.reply(f"Not a mail address: {', '.join(bad)}. Nothing changed.")
                return
            running.off, running.recipients = False, wanted
        else:
            await ctx.reply("Say #mail to LIST (addresses), #mail off, #mail on, or #mail.")
            return
        self._save(running)
        await ctx.reply(self._where(running))

    @command("mail status", usage="", help="What mail waits, and what became of the last one.")
    async def status(self, ctx: Context) -> None:
        server_name = self.config_for(ctx.room).server_name()
        if server_name is None:
            await ctx.reply("No mail server is configured.")
            return
        server = self.config.servers[server_name]
        status = await self.services.outbox.status(CHANNEL, server_name)
        parts = []
        if status.waiting:
            why = f" Last error: {status.last_error}." if status.last_error else ""
            parts.append(f"{waiting(status.waiting)} for {server.address}.{why}")
        else:
            parts.append(f"No mail waits for {server.address}.")
        async with self.storage.session() as session:
            last = await session.scalar(
                select(SentMail)
                .where(SentMail.network == ctx.room.network, SentMail.room == ctx.room.id)
                .where(SentMail.kind == "minutes")
                .order_by(SentMail.id.desc())
                .limit(1)
            )
        if last is not None:
            when = self._when(last.sent_at)
            if last.state == "refused":
                parts.append(f"The minutes mail of {last.subject!r} was refused {when}: "
                             f"{last.error}.")  # fmt: skip
            else:
                parts.append(f"Last sent: {last.subject!r}, {when}, to "
                             f"{', '.join(last.recipients)}.")  # fmt: skip
        await ctx.reply(" ".join(parts))

    @command("mail", usage="", help="Where this meeting's minutes go by mail.")
    async def mail(self, ctx: Context) -> None:
        await self.where(ctx)

    # people's own addresses, and follow-ups by mail

    def _mail_one(
        self,
        who: Identity,
        address: str,
        kind: str,
        subject: str,
        text: str,
        *,
        key: str,
        expires_at: datetime | None = None,
        chat_text: str = "",
    ) -> bool:
        """Queue a mail to one person; False when no mail server is configured."""
        config = self.config
        server = config.server_name()
        if server is None:
            return False
        message_id = new_message_id(config.sender, kind)
        message = personal(config.sender, address, subject, text, message_id=message_id)
        self.services.outbox.add(
            CHANNEL,
            server,
            {
                "kind": kind, "network": who.network, "room": "", "account": who.account,
                "nick": who.nick, "subject": subject, "message_id": message_id,
                "sender": config.sender_address, "recipients": [address],
                "text": message.as_string(), "key": key, "chat_text": chat_text,
            },
            key=key,
            expires_at=expires_at,
        )  # fmt: skip
        return True

    async def _identities(self, who: Identity) -> list[tuple[str, str]]:
        if who.key is None:
            return []
        return await self.services.people.identities(who.key)

    @command(
        "mail verify",
        usage="ADDRESS|CODE",
        help="Follow-ups of your action items by mail: a code goes to ADDRESS; say it back.",
    )
    async def verify(self, ctx: Context, what: str | None = None) -> None:
        me = ctx.sender
        prefix = ctx.prefix
        if not ctx.room.is_direct:
            await ctx.reply(
                f"Addresses are private: say {prefix}mail verify ADDRESS to me in a private "
                "message, not here."
            )
            return
        if me.key is None:
            await ctx.reply(f"Identify to an account on {me.network} first; addresses go with it.")
            return
        if what is None:
            await ctx.reply(await self._address_state(me, prefix))
            return
        if looks_like_code(what):
            confirmed = await self.addresses.confirm(me.key, what)
            if confirmed.address is not None:
                await ctx.reply(
                    f"Verified: follow-ups of your open action items now come to "
                    f"{confirmed.address} by mail. {prefix}mail forget removes it."
                )
            elif confirmed.tries_left:
                await ctx.reply(
                    f"That is not the code (or it expired); {confirmed.tries_left} tries left."
                )
            else:
                await ctx.reply(
                    f"No code waits for you (wrong too often, expired or never sent); "
                    f"say {prefix}mail verify ADDRESS for a new one."
                )
            return
        _, address = parseaddr(what)
        if not valid_address(what) or address != what.strip("<>"):
            await ctx.reply(
                f"{what!r} is not a mail address; say {prefix}mail verify you@example.org."
            )
            return
        if self.config.server_name() is None:
            await ctx.reply("No mail server is configured here; ask an admin.")
            return
        try:
            code = await self.addresses.offer(me.key, address)
        except TooSoon as soon:
            await ctx.reply(f"A code was mailed moments ago; ask again in {soon.seconds} s.")
            return
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        self._mail_one(
            me,
            address,
            "verify",
            "Your opsbot verification code",
            f"Hello {me.nick},\n\nsay this to opsbot in a private message within {minutes} "
            f"minutes to get the follow-ups of your action items at this address:\n\n"
            f"    {prefix}mail verify {code}\n\nIf you did not ask for it, ignore this mail; "
            "nothing is sent here unless the code is said.\n",
            key=f"verify:{me.network}:{me.account}:{utcnow().isoformat()}",
            expires_at=utcnow() + CODE_LIFETIME,
        )
        await ctx.reply(
            f"A code is on its way to {address}; say {prefix}mail verify CODE here within "
            f"{minutes} minutes."
        )

    async def _address_state(self, me: Identity, prefix: str) -> str:
        assert me.key is not None
        row = await self.addresses.of(me.key)
        address = await self.addresses.verified(await self._identities(me))
        parts = []
        if address is not None:
            parts.append(f"Follow-ups of your action items go to {address} by mail.")
        else:
            parts.append("No verified address: follow-ups come here, in private.")
        if row is not None and row.pending is not None:
            parts.append(f"A code for {row.pending} waits to be said.")
        parts.append(f"{prefix}mail verify ADDRESS sets one; {prefix}mail forget removes it.")
        return " ".join(parts)

    @command("mail forget", usage="", help="Forget your mail address; follow-ups come in chat.")
    async def forget_address(self, ctx: Context) -> None:
        me = ctx.sender
        if me.key is None:
            await ctx.reply("You are not identified to an account; no address is kept for you.")
            return
        gone = await self.addresses.forget(await self._identities(me))
        await ctx.reply(
            "Forgotten: follow-ups of your action items come in chat again."
            if gone
            else "No address was kept for you."
        )

    @subscribe(FollowUpDue)
    async def follow_up(self, event: FollowUpDue) -> None:
        who = Identity(event.network, event.account, event.nick)
        address = None
        if who.key is not None:
            address = await self.addresses.verified(await self._identities(who))
        if address is not None:
            queued = self._mail_one(
                who,
                address,
                "follow-up",
                f"Action item {event.action_id} is still open ({event.meeting_name})",
                f"Hello {event.nick},\n\n{event.text}\n\n-- \nYou get this by mail because "
                f"you verified this address with opsbot; say "
                f"{self.services.prefix_for(event.network)}mail forget to it to stop.\n",
                key=f"follow-up:{event.key}",
                expires_at=event.expires_at,
                chat_text=event.text,
            )
            if queued:
                return
        self.services.tell_later(who, event.text, key=event.key, expires_at=event.expires_at)

    def _when(self, ts: datetime | None) -> str:
        if ts is None:
            return "at an unknown time"
        return f"at {ts.astimezone(self.timezone):%Y-%m-%d %H:%M %Z}"
