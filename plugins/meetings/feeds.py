"""Atom feeds of the archive, built with feedgen: ``/meetings/feed.atom`` (every public meeting),
``/meetings/<name>/feed.atom`` (one series) and ``/actions/feed.atom?owner=NICK`` (action items,
of one person or everyone's). Each entry has a ``tag:`` id that never changes, its updated time
and its link; restricted meetings are never in them, and people who left the public
leaderboards are not named (their action items are left out). Conditional GET: each answer
carries an ETag of its body, and ``If-None-Match`` with it is answered 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from .archive import Archive
from .models import ActionRow, MeetingRow

if TYPE_CHECKING:
    from opsbot.services import Site

ENTRIES = 50
EMPTY = datetime(2000, 1, 1, tzinfo=UTC)
"""The updated time of a feed with no entries."""
ATOM = "application/atom+xml"
Hidden = Callable[[str, str | None], bool]
"""Whether the person of (network, account) left the public leaderboards."""


class Feeds:
    def __init__(self, archive: Archive, site: Site, tz: tzinfo, hidden: Hidden) -> None:
        self.archive = archive
        self.site = site
        self.tz = tz
        self.hidden = hidden
        site.add("/meetings/feed.atom", self.all_meetings)
        site.add("/meetings/{name}/feed.atom", self.series)
        site.add("/actions/feed.atom", self.actions)

    # the three feeds

    async def all_meetings(self, request: web.Request) -> web.Response:
        rows = await self.archive.meetings(name=None, since=None, limit=ENTRIES)
        return await self._meetings_feed(
            request, rows, "/meetings/feed.atom", "/meetings/", "Meetings"
        )

    async def series(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        rows = await self.archive.meetings(name=name, since=None, limit=ENTRIES)
        if not rows:
            raise web.HTTPNotFound(reason=f"No meetings named {name}")
        return await self._meetings_feed(
            request, rows, f"/meetings/{rows[0].name}/feed.atom", f"/meetings/{rows[0].name}/",
            f"{rows[0].name} meetings",
        )  # fmt: skip

    async def actions(self, request: web.Request) -> web.Response:
        owner = request.query.get("owner", "").strip()
        if len(owner) > 255:
            raise web.HTTPBadRequest(reason="owner is a nick")
        rows = await self.archive.actions(state="all", meeting=None)
        feed = self._feed(
            f"/actions/feed.atom?owner={owner}" if owner else "/actions/feed.atom",
            "/meetings/",
            f"Action items of {owner}" if owner else "Action items",
        )
        accounts: dict[int, dict[str, str]] = {}
        entries = 0
        latest: datetime | None = None
        for action, meeting in rows:
            if owner and owner.casefold() not in (o.casefold() for o in action.owners):
                continue
            if meeting.id not in accounts:
                accounts[meeting.id] = await self.archive.accounts_in(meeting.id)
            if any(self._is_hidden(meeting, nick, accounts[meeting.id]) for nick in action.owners):
                continue
            when = action.done_at or action.created_at
            latest = when if latest is None or when > latest else latest
            self._action_entry(feed, action, meeting)
            entries += 1
            if entries == ENTRIES:
                break
        return self._answer(request, feed, latest)

    # building

    def _tag(self, day: datetime, what: str) -> str:
        host = urlsplit(self.site.url("/")).hostname or "localhost"
        return f"tag:{host},{day:%Y-%m-%d}:{what}"

    def _feed(self, path: str, home: str, title: str) -> Any:
        from feedgen.feed import FeedGenerator

        feed = FeedGenerator()
        feed.id(self.site.url(path))
        feed.title(title)
        feed.author({"name": "opsbot"})
        feed.link(href=self.site.url(home), rel="alternate", type="text/html")
        feed.link(href=self.site.url(path), rel="self", type=ATOM)
        feed.generator("opsbot")
        feed.language("en")
        return feed

    def _is_hidden(self, meeting: MeetingRow, nick: str, accounts: dict[str, str]) -> bool:
        return self.hidden(meeting.network, accounts.get(nick.casefold()))

    async def _meetings_feed(
        self, request: web.Request, rows: list[MeetingRow], path: str, home: str, title: str
    ) -> web.Response:
        feed = self._feed(path, home, title)
        latest: datetime | None = None
        for row in rows:
            accounts = await self.archive.accounts_in(row.id)
            self._meeting_entry(feed, row, accounts)
            when = row.ended_at or row.started_at
            latest = when if latest is None or when > latest else latest
        return self._answer(request, feed, latest)

    def _meeting_entry(self, feed: Any, row: MeetingRow, accounts: dict[str, str]) -> None:
        summary: dict[str, Any] = row.summary or {}
        started = row.started_at.astimezone(self.tz)
        minutes = self.site.url(f"/meetings/{row.base}.html")
        entry = feed.add_entry(order="append")
        entry.id(self._tag(row.started_at, f"meetings/{row.id}"))
        entry.title(f"{row.name} meeting {started:%Y-%m-%d %H:%M %Z}")
        entry.link(href=minutes, rel="alternate", type="text/html")
        entry.published(row.started_at)
        entry.updated(row.ended_at or row.started_at)
        chairs = [
            str(c) for c in summary.get("chairs", []) if not self._is_hidden(row, str(c), accounts)
        ]
        if chairs:
            entry.author([{"name": chair} for chair in chairs])
        parts = [f"<p>{escape(row.channel)}, {started:%Y-%m-%d %H:%M %Z}.</p>"]
        topics = [str(t) for t in summary.get("topics", [])]
        if topics:
            parts.append(
                "<h3>Topics</h3><ul>" + "".join(f"<li>{escape(t)}</li>" for t in topics) + "</ul>"
            )
        shown = [
            action
            for action in summary.get("actions", [])
            if not any(self._is_hidden(row, str(o), accounts) for o in action.get("owners", []))
        ]
        if shown:
            items = "".join(
                f"<li>{escape(str(a['text']))}"
                + (f" ({escape(', '.join(map(str, a['owners'])))})" if a.get("owners") else "")
                + "</li>"
                for a in shown
            )
            parts.append(f"<h3>Action items</h3><ul>{items}</ul>")
        links = [("Minutes", ".html"), ("Minutes (text)", ".txt"), ("Log", ".log.html")]
        parts.append(
            "<p>"
            + " · ".join(
                f'<a href="{escape(self.site.url(f"/meetings/{row.base}{ext}"))}">{label}</a>'
                for label, ext in links
            )
            + "</p>"
        )
        entry.summary(", ".join(topics) or f"{row.name} meeting minutes")
        entry.content("".join(parts), type="html")

    def _action_entry(self, feed: Any, action: ActionRow, meeting: MeetingRow) -> None:
        entry = feed.add_entry(order="append")
        entry.id(self._tag(action.created_at, f"actions/{action.id}"))
        entry.title(action.text)
        anchor = f"/meetings/{meeting.base}.log.html#l-{action.seq}"
        entry.link(href=self.site.url(anchor), rel="alternate", type="text/html")
        entry.published(action.created_at)
        entry.updated(action.done_at or action.created_at)
        owners = ", ".join(action.owners) or "nobody"
        state = (
            f"Done by {action.done_by}, {action.done_at.astimezone(self.tz):%Y-%m-%d %H:%M %Z}."
            if action.state == "done" and action.done_at is not None
            else "Open."
        )
        day = meeting.started_at.astimezone(self.tz)
        entry.content(
            f"{state} Owners: {owners}. From the {meeting.name} meeting of {day:%Y-%m-%d}.",
            type="text",
        )

    def _answer(self, request: web.Request, feed: Any, latest: datetime | None) -> web.Response:
        feed.updated(latest or EMPTY)  # not "now": an unchanged feed keeps its ETag
        body: bytes = feed.atom_str(pretty=True)
        tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        asked = request.headers.get("If-None-Match", "")
        if tag in [value.strip().removeprefix("W/") for value in asked.split(",")] or asked == "*":
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=ATOM, charset="utf-8", headers=headers)
