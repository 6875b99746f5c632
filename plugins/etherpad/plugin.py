"""Plugin ``etherpad``: the meeting's pad as the living record of its decisions.

It hears the meetings plugin's domain events only (no import of it): at ``#startmeeting`` a dated
section with the chairs and the live log's link, then each ``#action`` (owners, time) and
``#agreed`` (and ``#info``/``#link`` if configured) as it is made, an ``#undo`` of such an item,
and at ``#endmeeting`` the actions by person and the minutes' links. Every line goes through the
core durable outbox (channel ``etherpad``, :mod:`.outbox`), so an Etherpad outage or a restart loses nothing.
``!pad`` shows the pad, ``!pad status`` what waits; ``#pad URL`` lets a chair choose the pad.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from sqlalchemy import select

from opsbot.domain import (
    ActionItemRecorded,
    AgendaProposed,
    ChairsChanged,
    ItemRecorded,
    ItemRevised,
    ItemUndone,
    MeetingEnded,
    MeetingEvent,
    MeetingStarted,
    PadChosen,
)
from opsbot.events import Room
from opsbot.plugin import Context, Plugin, PluginConfig, command, match, subscribe

from .agenda import agenda_items
from .client import EtherpadClient, EtherpadError, OAuth2
from .models import MeetingPad
from .outbox import PadLines


class EtherpadServer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    """Base URL, e.g. https://etherpad.opendev.org"""
    api_key: str | None = None
    api_key_file: Path | None = None
    """Etherpad's APIKEY.txt, read at start-up."""
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_token_url: str = ""
    """Etherpad 2.x: OAuth2 client credentials (default token URL: <url>/oidc/token)."""

    @field_validator("api_key_file")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                if not path.read_text().strip():
                    raise ValueError(f"{path} is empty")
            except OSError as error:
                raise ValueError(f"cannot read {path}: {error.strerror}") from None
        return path

    @model_validator(mode="after")
    def _one_way_in(self) -> EtherpadServer:
        ways = [self.api_key, self.api_key_file, self.oauth_client_id]
        if sum(way is not None for way in ways) != 1:
            raise ValueError("give one of api_key, api_key_file or oauth_client_id")
        if self.oauth_client_id is not None and self.oauth_client_secret is None:
            raise ValueError("oauth_client_id needs oauth_client_secret")
        return self

    def client(self) -> EtherpadClient:
        if self.oauth_client_id is not None:
            oauth = OAuth2(
                self.oauth_client_id, self.oauth_client_secret or "", self.oauth_token_url
            )
            return EtherpadClient(self.url, oauth=oauth)
        key = self.api_key
        if self.api_key_file is not None:
            key = self.api_key_file.read_text().strip()
        return EtherpadClient(self.url, api_key=key)


class EtherpadConfig(PluginConfig):
    servers: dict[str, EtherpadServer] = {}
    server: str | None = None
    """Which server pads live on; default: the first one."""
    pad: str | None = None
    """The pad of every meeting here: a fixed name (``ops-meetups-team``) or a template with
    {meeting_name}, {date} (YYYY-MM-DD) and {room}. None: no pad unless a chair sets one."""
    pads: dict[str, str] = {}
    """A fixed pad (or template) per meeting name, before ``pad``."""
    log_info: bool = False
    log_link: bool = False
    agenda_heading: str = "Agenda"
    redactions: Literal["replace", "note"] = "replace"
    """A pad line whose meeting line was redacted: rewritten as ``[message removed]``
    (``replace``), or left and followed by a line saying it was removed (``note``). Either
    way the bot's own copy of the text is gone; the pad's history is Etherpad's."""
    retry_min: float = 1.0
    retry_max: float = 300.0


@dataclass
class Running:
    """What the plugin knows of a running meeting."""

    meeting_id: int
    meeting_name: str
    room: Room
    chairs: set[tuple[str, str | None]] = field(default_factory=set)
    server: str | None = None
    pad: str | None = None


class Etherpad(Plugin):
    """Log a meeting's action items, decisions and summary to its Etherpad as they happen."""

    Config = EtherpadConfig
    config: EtherpadConfig

    async def setup(self) -> None:
        self.clients = {name: server.client() for name, server in self.config.servers.items()}
        self.outbox = PadLines(self.services.outbox, self.clients, self._notify)
        self.running: dict[str, Running] = {}
        self._background: set[asyncio.Task[None]] = set()
        async with self.storage.session() as session:
            for row in await session.scalars(select(MeetingPad).where(MeetingPad.open)):
                room = self._room(row.network, row.room)
                running = Running(row.meeting_id, row.meeting_name, room)
                running.chairs = {(str(nick), account) for nick, account in row.chairs}
                running.server, running.pad = row.server, row.pad
                self.running[room.key] = running
        await self.outbox.start(min_delay=self.config.retry_min, max_delay=self.config.retry_max)

    async def teardown(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for client in self.clients.values():
            await client.close()

    async def _notify(self, network: str, room: str, text: str) -> None:
        if network in self.services.networks():
            await self.services.send(self.services.room(network, room), text)

    # which pad

    def _server_name(self, room: Room) -> str | None:
        config = self.config_for(room)
        if config.server is not None:
            return config.server
        return next(iter(config.servers), None)

    def pad_url(self, server: str, pad: str) -> str:
        return f"{self.config.servers[server].url.rstrip('/')}/p/{quote(pad, safe='')}"

    def _parse_pad_url(self, url: str) -> tuple[str, str] | None:
        for name, server in self.config.servers.items():
            base = server.url.rstrip("/") + "/p/"
            if url.startswith(base) and len(url) > len(base):
                return name, unquote(url[len(base) :].split("?")[0].split("#")[0])
        return None

    def _configured_pad(self, event: MeetingStarted, room: Room) -> tuple[str, str] | None:
        config = self.config_for(room)
        server = self._server_name(room)
        template = config.pads.get(event.meeting_name) or config.pad
        if server is None or template is None:
            return None
        pad = template.format(
            meeting_name=event.meeting_name,
            date=event.ts.strftime("%Y-%m-%d"),
            room=room.id.lstrip("#!"),
        )
        return server, pad

    async def _save(self, running: Running, *, still_open: bool = True) -> None:
        async with self.storage.session() as session, session.begin():
            await session.merge(
                MeetingPad(
                    meeting_id=running.meeting_id,
                    network=running.room.network,
                    room=running.room.id,
                    meeting_name=running.meeting_name,
                    chairs=[[nick, account] for nick, account in sorted(running.chairs, key=str)],
                    server=running.server,
                    pad=running.pad,
                    open=still_open,
                )
            )

    async def _write(self, running: Running, text: str, seq: int | None = None) -> None:
        if running.server is not None and running.pad is not None:
            self.outbox.add(
                running.server, running.pad, text, running.room.network, running.room.id,
                item=(running.meeting_id, seq) if seq is not None else None,
            )  # fmt: skip

    async def _chosen(self, running: Running) -> None:
        """Tell the other plugins (the minutes' mail links it)."""
        assert running.server is not None and running.pad is not None
        await self.emit(
            PadChosen(
                meeting_id=running.meeting_id,
                network=running.room.network,
                room=running.room.id,
                meeting_name=running.meeting_name,
                url=self.pad_url(running.server, running.pad),
            )
        )

    def _room(self, network: str, room_id: str) -> Room:
        return self.services.room(network, room_id)

    # the meeting's events

    def _running(self, event: MeetingEvent) -> Running | None:
        return self.running.get(self._room(event.network, event.room).key)

    @subscribe(MeetingStarted)
    async def started(self, event: MeetingStarted) -> None:
        room = self._room(event.network, event.room)
        running = Running(event.meeting_id, event.meeting_name, room)
        running.chairs = {(event.owner, event.owner_account)} | {(c, None) for c in event.chairs}
        self.running[room.key] = running
        chosen = self._configured_pad(event, room)
        if chosen is not None:
            running.server, running.pad = chosen
        await self._save(running)
        if chosen is None:
            return
        await self.services.send(room, f"The meeting's pad: {self.pad_url(*chosen)}")
        await self._chosen(running)
        when = event.ts.strftime("%Y-%m-%d %H:%M UTC")
        chairs = ", ".join(sorted({nick for nick, _ in running.chairs}))
        await self._write(running, f"== {event.meeting_name} — {when} ==")
        await self._write(running, f"Chairs: {chairs}. Live log: {event.log_url or '(none)'}")
        # Reading the pad may take a while; the meeting (whose lane this is) must not wait.
        task = asyncio.create_task(self._announce_agenda(running))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _announce_agenda(self, running: Running) -> None:
        assert running.server is not None and running.pad is not None
        heading = self.config_for(running.room).agenda_heading
        try:
            text = await self.clients[running.server].get_text(running.pad)
        except EtherpadError as error:
            self.log.warning("could not read the agenda from %s: %s", running.pad, error)
            return
        items = agenda_items(text, heading)
        if not items:
            return
        listed = "; ".join(f"{i}. {item}" for i, item in enumerate(items, 1))
        await self.services.send(running.room, f"Agenda from the pad: {listed}")
        await self.emit(
            AgendaProposed(
                meeting_id=running.meeting_id,
                network=running.room.network,
                room=running.room.id,
                meeting_name=running.meeting_name,
                items=tuple(items),
            )
        )

    @subscribe(ChairsChanged)
    async def chairs_changed(self, event: ChairsChanged) -> None:
        running = self._running(event)
        if running is not None:
            running.chairs = set(event.chairs)
            await self._save(running)

    def _logged(self, running: Running, kind: str) -> bool:
        """Whether items of this kind go to the pad (#action and #agreed always)."""
        config = self.config_for(running.room)
        return kind in ("ACTION", "AGREED") or (kind, True) in (
            ("INFO", config.log_info),
            ("LINK", config.log_link),
        )

    @subscribe(ItemRecorded)
    async def item(self, event: ItemRecorded) -> None:
        running = self._running(event)
        if running is None or not self._logged(running, event.kind):
            return
        when = event.ts.strftime("%H:%M UTC")
        if isinstance(event, ActionItemRecorded):
            owners = ", ".join(event.owners) or "unassigned"
            line = f"ACTION ({owners}): {event.text} — {event.nick}, {when}"
        else:
            line = f"{event.kind}: {event.text} — {event.nick}, {when}"
        await self._write(running, line, seq=event.seq)

    @subscribe(ItemRevised)
    async def revised(self, event: ItemRevised) -> None:
        """An item's line was edited or redacted: the pad follows (see ``redactions``), also
        after the meeting ended (the outbox finds the item's lines by meeting and line)."""
        room = self._room(event.network, event.room)
        running = self._running(event) or Running(event.meeting_id, event.meeting_name, room)
        if not self._logged(running, event.kind):
            return
        if not event.redacted:
            self.outbox.revise(
                event.meeting_id, event.seq, f"{event.kind}: {event.text} (edited)", redacted=False
            )
            return
        removed = f"{event.kind}: [message removed]"
        if self.config_for(running.room).redactions == "note":
            self.outbox.scrub(event.meeting_id, event.seq, removed)
            if running.pad is not None:
                when = event.ts.strftime("%H:%M UTC")
                await self._write(running, f"REMOVED: a {event.kind} line was redacted at {when}")
        else:
            self.outbox.revise(event.meeting_id, event.seq, removed, redacted=True)

    @subscribe(ItemUndone)
    async def undone(self, event: ItemUndone) -> None:
        running = self._running(event)
        if running is not None and self._logged(running, event.kind):
            await self._write(running, f"UNDONE: {event.kind} {event.text}")

    @subscribe(MeetingEnded)
    async def ended(self, event: MeetingEnded) -> None:
        if event.imported:
            return
        running = self.running.pop(self._room(event.network, event.room).key, None)
        if running is None:
            return
        await self._save(running, still_open=False)
        by_person: dict[str, list[str]] = {}
        for text, owners in event.actions:
            for owner in owners or ("unassigned",):
                by_person.setdefault(owner, []).append(text)
        await self._write(running, f"Meeting ended {event.ts:%H:%M UTC}. Actions by person:")
        for person, texts in sorted(by_person.items()):
            await self._write(running, f"* {person}: " + "; ".join(texts))
        if not by_person:
            await self._write(running, "* (no action items)")
        for label, extension in (("Minutes", ".html"), ("Log", ".log.html")):
            if extension in event.links:
                await self._write(running, f"{label}: {event.links[extension]}")

    # chat

    @match(r"^#pad\s+(?P<url>\S+)\s*$")
    async def set_pad(self, ctx: Context, url: str) -> None:
        running = self.running.get(ctx.room.key)
        if running is None:
            await ctx.reply("There is no meeting here to give a pad to.")
            return
        if not await ctx.chair_or_moderator(running.chairs):
            await ctx.reply("Only the meeting's chairs can set its pad.")
            return
        found = self._parse_pad_url(url)
        if found is None:
            known = ", ".join(s.url for s in self.config.servers.values()) or "none configured"
            await ctx.reply(f"That is not a pad on a known Etherpad ({known}).")
            return
        running.server, running.pad = found
        await self._save(running)
        await self._chosen(running)
        await self._write(running, f"== {running.meeting_name} continues here ==")
        await ctx.reply(f"Action items and decisions now go to {self.pad_url(*found)}")

    @match(r"^#pad\s*$")
    async def show_pad(self, ctx: Context) -> None:
        await self.pad(ctx)

    async def _pad_of_the_series(self, room: Room) -> str:
        """Outside a meeting: the pad the room's last meeting wrote to, else the room's."""
        async with self.storage.session() as session:
            last = await session.scalar(
                select(MeetingPad)
                .where(
                    MeetingPad.network == room.network,
                    MeetingPad.room == room.id,
                    MeetingPad.pad.is_not(None),
                )
                .order_by(MeetingPad.meeting_id.desc())
                .limit(1)
            )
        if last is not None and last.server in self.config.servers and last.pad is not None:
            url = self.pad_url(last.server, last.pad)
            return f"The pad of {last.meeting_name}, the last meeting here: {url}"
        config = self.config_for(room)
        server = self._server_name(room)
        if config.pad and server and "{" not in config.pad:
            return f"This room's pad: {self.pad_url(server, config.pad)}"
        return "No pad for this room; a chair can set one with #pad URL."

    @command("pad", usage="", help="This meeting's pad (else the room's last one).")
    async def pad(self, ctx: Context) -> None:
        running = self.running.get(ctx.room.key)
        if running is None or running.pad is None or running.server is None:
            await ctx.reply(await self._pad_of_the_series(ctx.room))
            return
        await ctx.reply(f"Pad: {self.pad_url(running.server, running.pad)}")

    @command("pad status", usage="", help="What waits to be written to this meeting's pad.")
    async def pad_status(self, ctx: Context) -> None:
        running = self.running.get(ctx.room.key)
        if running is None or running.pad is None or running.server is None:
            await ctx.reply(await self._pad_of_the_series(ctx.room))
            return
        url = self.pad_url(running.server, running.pad)
        status = await self.outbox.status(running.server, running.pad)
        if not status.waiting:
            await ctx.reply(f"Everything is written to {url}")
        else:
            why = f" Last error: {status.last_error}" if status.last_error else ""
            await ctx.reply(f"{status.waiting} pad operations wait for {url}.{why}")
