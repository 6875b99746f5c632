"""The meetings archive on the bot's web site: an index by meeting name, then year, then
meeting, in MeetBot's URL layout (``/meetings/<name>/<YYYY>/<name>.<YYYY-MM-DD-HH.MM>.html``,
``.txt``, ``.log.html``, ``.log.txt``), so links from MeetBot-era minutes and from the bot's own
``#endmeeting`` answers resolve; ``/meetings/<name>/latest``; a live page of a meeting in
progress fed by server-sent events; full-text search; the JSON API of meetings and action items.

Restricted meetings (``#restrictlogs``) are never served, listed or searched. The pages read the
archive through :class:`~.archive.Archive` and the meetings in progress through
:class:`~.live.LiveMeetings`; they never hold the plugin object.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from opsbot.web import secure, since_and_limit, style_hash, whole_number

from .archive import Archive
from .engine import REDACTED, Line, Meeting
from .feeds import Feeds, Hidden
from .live import Live, LiveFeed, LiveMeetings
from .models import ActionRow, MeetingRow
from .search import marked

if TYPE_CHECKING:
    from opsbot.services import Site


TEMPLATES = Path(__file__).parent / "templates"
CONTENT_TYPES = {
    ".html": "text/html",
    ".log.html": "text/html",
    ".txt": "text/plain",
    ".log.txt": "text/plain",
    ".md": "text/markdown",
    ".json": "application/json",
}
KEEPALIVE_SECONDS = 15.0


class MeetingsSite:
    def __init__(
        self,
        archive: Archive,
        live: LiveMeetings,
        site: Site,
        output_dir: Path,
        tz: tzinfo,
        hidden: Hidden,
    ) -> None:
        self.archive = archive
        self.running = live
        self.site = site
        self.tz = tz
        self.feed = LiveFeed()
        self._stopping = False
        self.output = output_dir.resolve()
        site.templates(TEMPLATES)
        for template in ("minutes.html", "log.html"):
            found = re.search(r"<style>(.*?)</style>", (TEMPLATES / template).read_text(), re.S)
            if found:
                site.allow_style(style_hash(found.group(1)))
        site.section("Meetings", "/meetings/")
        site.section("Search", "/search")
        Feeds(archive, site, tz, hidden)
        site.add("/meetings/", self.index)
        site.add("/meetings/id/{meeting_id:\\d+}", self.by_id)
        site.add("/meetings/live/{meeting_id:\\d+}", self.live)
        site.add("/meetings/live/{meeting_id:\\d+}/events", self.events)
        site.add("/meetings/{name}/", self.by_name)
        site.add("/meetings/{name}/latest", self.latest)
        site.add("/meetings/{name}/{year:\\d{4}}/", self.by_year)
        site.add("/meetings/{path:.+}", self.file)
        site.add("/search", self.search)
        site.add("/api/meetings", self.api_meetings)
        site.add("/api/meetings/{meeting_id:\\d+}", self.api_meeting)
        site.add("/api/actions", self.api_actions)
        site.api(Path(__file__).parent / "openapi.yaml")
        site.on_cleanup(self._closing)

    def line_url(self, meeting_id: int, seq: int) -> str:
        """A line of a meeting's log, for good: the live page while it runs, its log after."""
        return self.site.url(f"/meetings/id/{meeting_id}") + f"#l-{seq}"

    async def by_id(self, request: web.Request) -> web.Response:
        """A meeting by its number: to its live page while it runs, to its log once ended (the
        fragment naming a line goes along)."""
        meeting_id = whole_number(request.match_info["meeting_id"], "a meeting's ID")
        running = self.running.with_id(meeting_id)
        if running is not None and running.watchable:
            raise web.HTTPFound(f"/meetings/live/{meeting_id}")
        row = await self.archive.meeting_row(meeting_id)
        if row is None or row.restricted or row.base is None or row.ended_at is None:
            raise web.HTTPNotFound(reason="No such meeting")
        raise web.HTTPFound(f"/meetings/{row.base}.log.html")

    def live_url(self, meeting_id: int) -> str:
        """Where people follow a meeting while it runs."""
        return self.site.url(f"/meetings/live/{meeting_id}")

    async def _closing(self, app: web.Application) -> None:
        """The site stops (the bot stops, or a standby gives way to the bot it becomes): the
        watchers' streams close without ``end``, so their pages reconnect and go on."""
        self._stopping = True
        self.feed.close()

    def local(self, moment: datetime | None) -> str:
        """A time as the pages show it: in the bot's zone."""
        return "" if moment is None else f"{moment.astimezone(self.tz):%Y-%m-%d %H:%M %Z}"

    def clock(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.tz):%H:%M:%S}"

    # pages

    async def index(self, request: web.Request) -> web.Response:
        return self.site.page(
            request,
            "meetings:web/index.html",
            names=await self.archive.names(),
            running=self.running.watchable(),
            local=self.local,
        )

    async def by_name(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        rows = await self.archive.named(name)
        if not rows:
            raise web.HTTPNotFound(reason=f"No meetings named {name}")
        years: dict[int, int] = {}
        for row in rows:
            years[row.started_at.year] = years.get(row.started_at.year, 0) + 1
        return self.site.page(request, "meetings:web/name.html", name=name, years=years)

    async def by_year(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        year = whole_number(request.match_info["year"], "the year", low=1970, high=9999)
        rows = [r for r in await self.archive.named(name) if r.started_at.year == year]
        if not rows:
            raise web.HTTPNotFound(reason=f"No meetings named {name} in {year}")
        return self.site.page(
            request,
            "meetings:web/year.html",
            name=name,
            year=year,
            meetings=rows,
            local=self.local,
        )

    async def latest(self, request: web.Request) -> web.Response:
        rows = await self.archive.named(request.match_info["name"])
        if not rows or rows[0].base is None:
            raise web.HTTPNotFound(reason="No such meeting")
        raise web.HTTPFound(f"/meetings/{rows[0].base}.html")

    async def file(self, request: web.Request) -> web.StreamResponse:
        """One of a meeting's files, if the meeting is public and its files exist."""
        path = request.match_info["path"]
        for extension in sorted(CONTENT_TYPES, key=len, reverse=True):
            if path.endswith(extension):
                base = path[: -len(extension)]
                break
        else:
            raise web.HTTPNotFound()
        if not await self.archive.is_public(base):
            raise web.HTTPNotFound(reason="No such meeting file")
        found = (self.output / f"{base}{extension}").resolve()
        if not found.is_relative_to(self.output) or not found.is_file():
            raise web.HTTPNotFound(reason="No such meeting file")
        response = web.FileResponse(found)
        response.content_type = CONTENT_TYPES[extension]
        response.charset = "utf-8"
        return response

    # live

    def _live(self, request: web.Request) -> Live:
        meeting_id = whole_number(request.match_info["meeting_id"], "a meeting's ID")
        found = self.running.with_id(meeting_id)
        if found is None or not found.watchable:
            raise web.HTTPNotFound(reason="No meeting in progress with that number")
        return found

    async def live(self, request: web.Request) -> web.Response:
        found = self._live(request)
        meeting = found.meeting
        lines = list(meeting.lines)
        shown = [(line, meeting.text_of(line)) for line in lines if line.kind not in REVISIONS]
        return self.site.page(
            request,
            "meetings:web/live.html",
            live=found,
            lines=shown,
            after=lines[-1].seq if lines else -1,
            local=self.local,
            clock=self.clock,
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: each new line as ``line`` (its JSON), then ``end``."""
        found = self._live(request)
        after = request.headers.get("Last-Event-ID") or request.query.get("after", "-1")
        try:
            seen = int(after)
        except ValueError:
            seen = -1
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        secure(response.headers, self.site.csp)
        await response.prepare(request)
        queue = self.feed.subscribe(found.id)  # before the backlog: nothing falls between
        try:
            for line in list(found.meeting.lines):
                if line.seq > seen:
                    await response.write(_event(found.meeting, line, self.tz))
                    seen = line.seq
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if item is None and self._stopping:
                    break
                if item is None or found.meeting.restricted:
                    await response.write(b"event: end\ndata: {}\n\n")
                    break
                if item.seq > seen:
                    await response.write(_event(found.meeting, item, self.tz))
                    seen = item.seq
        except ConnectionResetError:
            pass
        finally:
            self.feed.unsubscribe(found.id, queue)
        return response

    # search

    async def search(self, request: web.Request) -> web.Response:
        query = request.query
        words = query.get("q", "").strip()
        problems = []
        since = until = None
        try:
            if query.get("from"):
                since = datetime.combine(date.fromisoformat(query["from"]), time(), UTC)
            if query.get("to"):
                until = datetime.combine(date.fromisoformat(query["to"]), time(), UTC) + timedelta(
                    days=1
                )
        except ValueError:
            problems.append("Dates are YYYY-MM-DD.")
        page = whole_number(query.get("page", "1"), "page", high=10_000)
        hits = []
        if words and not problems:
            hits = await self.archive.search(
                words,
                name=query.get("name") or None,
                since=since,
                until=until,
                person=query.get("person") or None,
                limit=51,
                offset=(page - 1) * 50,
            )
        return self.site.page(
            request,
            "meetings:web/search.html",
            query=query,
            words=words,
            hits=hits[:50],
            more=len(hits) > 50,
            page=page,
            problems=problems,
            marked=marked,
            local=self.local,
        )

    # JSON API

    async def api_meetings(self, request: web.Request) -> web.Response:
        query = request.query
        since, limit = since_and_limit(query)
        rows = await self.archive.meetings(name=query.get("name"), since=since, limit=limit)
        return web.json_response([self._meeting_json(row) for row in rows])

    def _meeting_json(self, row: MeetingRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "network": row.network,
            "channel": row.channel,
            "started_at": row.started_at.isoformat(),
            "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "owner": row.owner,
            "minutes": f"/meetings/{row.base}.html" if row.base else None,
            "log": f"/meetings/{row.base}.log.html" if row.base else None,
        }

    async def api_meeting(self, request: web.Request) -> web.Response:
        meeting_id = whole_number(request.match_info["meeting_id"], "a meeting's ID")
        found = await self.archive.meeting(meeting_id)
        if found is None:
            raise web.HTTPNotFound(reason="No such meeting")
        row, lines, actions = found
        summary = row.summary or {}
        return web.json_response(
            {
                **self._meeting_json(row),
                "summary": summary,
                "actions": [_action_json(a, row) for a in actions],
                "lines": [
                    {
                        "seq": line.seq,
                        "ts": line.ts.isoformat(),
                        "kind": line.kind,
                        "nick": line.nick,
                        "text": line.text,
                        "anchor": f"/meetings/{row.base}.log.html#l-{line.seq}",
                    }
                    for line in lines
                ],
            }
        )

    async def api_actions(self, request: web.Request) -> web.Response:
        query = request.query
        state = query.get("state", "open")
        if state not in ("open", "done", "all"):
            raise web.HTTPBadRequest(reason="state is open, done or all")
        rows = await self.archive.actions(state=state, meeting=query.get("meeting"))
        owner = query.get("owner", "").casefold()
        return web.json_response(
            [
                _action_json(action, meeting)
                for action, meeting in rows
                if not owner or owner in (o.casefold() for o in action.owners)
            ]
        )


def _action_json(action: ActionRow, meeting: MeetingRow) -> dict[str, Any]:
    return {
        "id": action.id,
        "text": action.text,
        "owners": list(action.owners),
        "state": action.state,
        "done_by": action.done_by,
        "done_at": action.done_at.isoformat() if action.done_at else None,
        "meeting_id": meeting.id,
        "meeting": meeting.name,
        "anchor": f"/meetings/{meeting.base}.log.html#l-{action.seq}" if meeting.base else None,
    }


REVISIONS = ("edit", "redaction")


def _event(meeting: Meeting, line: Line, tz: tzinfo) -> bytes:
    """A line as an event ``line``; an edit or a redaction as ``revise``: the lines it changes
    and what they say now (``[message removed]``), so a watcher never keeps a redacted text."""
    if line.kind in REVISIONS:
        target = line.target_id or ""
        revised = {
            "seqs": meeting.seqs(target),
            "text": REDACTED if target in meeting.redacted else meeting.texts.get(target, ""),
        }
        data = json.dumps(revised, ensure_ascii=False)
        return f"id: {line.seq}\nevent: revise\ndata: {data}\n\n".encode()
    data = json.dumps(
        {
            "seq": line.seq,
            "time": line.ts.astimezone(tz).strftime("%H:%M:%S"),
            "kind": line.kind,
            "nick": line.nick,
            "text": meeting.text_of(line),
        },
        ensure_ascii=False,
    )
    return f"id: {line.seq}\nevent: line\ndata: {data}\n\n".encode()
