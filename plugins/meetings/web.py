"""The meetings archive on the bot's web site: an index by meeting name, then year, then
meeting, in MeetBot's URL layout (``/meetings/<name>/<YYYY>/<name>.<YYYY-MM-DD-HH.MM>.html``,
``.txt``, ``.log.html``, ``.log.txt``), so links from MeetBot-era minutes and from the bot's own
``#endmeeting`` answers resolve; ``/meetings/<name>/latest``; a live page of a meeting in
progress fed by server-sent events; full-text search; the JSON API of meetings and action items.

Restricted meetings (``#restrictlogs``) are never served, listed or searched.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import func, select

from opsbot.services import Site
from opsbot.web import secure, since_and_limit, style_hash, whole_number

from .engine import REDACTED, Line, Meeting
from .models import ActionRow, LineRow, MeetingRow
from .search import marked, search

if TYPE_CHECKING:
    from .plugin import Live, Meetings

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


class LiveFeed:
    """Lines of meetings in progress, handed to whoever watches them (the live pages)."""

    def __init__(self) -> None:
        self._watchers: dict[int, set[asyncio.Queue[Line | None]]] = {}

    def publish(self, meeting_id: int, line: Line) -> None:
        for queue in self._watchers.get(meeting_id, ()):
            queue.put_nowait(line)

    def end(self, meeting_id: int) -> None:
        for queue in self._watchers.get(meeting_id, ()):
            queue.put_nowait(None)

    def subscribe(self, meeting_id: int) -> asyncio.Queue[Line | None]:
        queue: asyncio.Queue[Line | None] = asyncio.Queue()
        self._watchers.setdefault(meeting_id, set()).add(queue)
        return queue

    def unsubscribe(self, meeting_id: int, queue: asyncio.Queue[Line | None]) -> None:
        self._watchers.get(meeting_id, set()).discard(queue)

    def close(self) -> None:
        for meeting_id in list(self._watchers):
            self.end(meeting_id)


class MeetingsSite:
    def __init__(self, plugin: Meetings, site: Site) -> None:
        self.plugin = plugin
        self.site = site
        self.feed = LiveFeed()
        self.output = plugin.config.output_dir.resolve()
        self._public_bases: set[str] = set()
        site.templates(TEMPLATES)
        for template in ("minutes.html", "log.html"):
            found = re.search(r"<style>(.*?)</style>", (TEMPLATES / template).read_text(), re.S)
            if found:
                site.allow_style(style_hash(found.group(1)))
        site.section("Meetings", "/meetings/")
        site.section("Search", "/search")
        site.add("/meetings/", self.index)
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

    def live_url(self, meeting_id: int) -> str:
        """Where people follow a meeting while it runs."""
        return self.site.url(f"/meetings/live/{meeting_id}")

    async def _closing(self, app: web.Application) -> None:
        self.feed.close()

    @property
    def storage(self) -> Any:
        return self.plugin.storage

    def _public(self) -> Any:
        return select(MeetingRow).where(
            MeetingRow.restricted.is_(False), MeetingRow.ended_at.is_not(None)
        )

    # pages

    async def index(self, request: web.Request) -> web.Response:
        query = (
            select(MeetingRow.name, func.count(), func.max(MeetingRow.started_at))
            .where(MeetingRow.restricted.is_(False), MeetingRow.ended_at.is_not(None))
            .group_by(MeetingRow.name)
            .order_by(MeetingRow.name)
        )
        async with self.storage.session() as session:
            names = (await session.execute(query)).all()
        running = [live for live in self.plugin.live.values() if self._watchable(live)]
        return self.site.page(
            request, "meetings:web/index.html", names=names, running=running, plugin=self.plugin
        )

    async def by_name(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        rows = await self._meetings(name)
        if not rows:
            raise web.HTTPNotFound(reason=f"No meetings named {name}")
        years: dict[int, int] = {}
        for row in rows:
            years[row.started_at.year] = years.get(row.started_at.year, 0) + 1
        return self.site.page(request, "meetings:web/name.html", name=name, years=years)

    async def by_year(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        year = whole_number(request.match_info["year"], "the year", low=1970, high=9999)
        rows = [r for r in await self._meetings(name) if r.started_at.year == year]
        if not rows:
            raise web.HTTPNotFound(reason=f"No meetings named {name} in {year}")
        return self.site.page(
            request,
            "meetings:web/year.html",
            name=name,
            year=year,
            meetings=rows,
            plugin=self.plugin,
        )

    async def latest(self, request: web.Request) -> web.Response:
        rows = await self._meetings(request.match_info["name"])
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
        if not await self._is_public(base):
            raise web.HTTPNotFound(reason="No such meeting file")
        found = (self.output / f"{base}{extension}").resolve()
        if not found.is_relative_to(self.output) or not found.is_file():
            raise web.HTTPNotFound(reason="No such meeting file")
        response = web.FileResponse(found)
        response.content_type = CONTENT_TYPES[extension]
        response.charset = "utf-8"
        return response

    async def _is_public(self, base: str) -> bool:
        """Whether ``base`` is an ended meeting that is not restricted (remembered: an ended
        meeting stays as it is)."""
        if base in self._public_bases:
            return True
        async with self.storage.session() as session:
            found = await session.scalar(
                select(MeetingRow.id).where(
                    MeetingRow.base == base,
                    MeetingRow.restricted.is_(False),
                    MeetingRow.ended_at.is_not(None),
                )
            )
        if found is not None:
            if len(self._public_bases) > 50_000:
                self._public_bases.clear()
            self._public_bases.add(base)
        return found is not None

    async def _meetings(self, name: str) -> list[MeetingRow]:
        async with self.storage.session() as session:
            rows = await session.scalars(
                self._public()
                .where(MeetingRow.name == name.lower())
                .order_by(MeetingRow.started_at.desc())
            )
            return list(rows)

    # live

    def _watchable(self, live: Live) -> bool:
        return live.meeting.started and not live.meeting.restricted

    def _live(self, request: web.Request) -> Live:
        meeting_id = whole_number(request.match_info["meeting_id"], "a meeting's ID")
        for live in self.plugin.live.values():
            if live.id == meeting_id and self._watchable(live):
                return live
        raise web.HTTPNotFound(reason="No meeting in progress with that number")

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
            plugin=self.plugin,
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
                    await response.write(_event(found.meeting, line, self.plugin))
                    seen = line.seq
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if item is None or found.meeting.restricted:
                    await response.write(b"event: end\ndata: {}\n\n")
                    break
                if item.seq > seen:
                    await response.write(_event(found.meeting, item, self.plugin))
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
            hits = await search(
                self.storage,
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
            plugin=self.plugin,
        )

    # JSON API

    async def api_meetings(self, request: web.Request) -> web.Response:
        query = request.query
        found = self._public().order_by(MeetingRow.started_at.desc())
        if query.get("name"):
            found = found.where(MeetingRow.name == query["name"].lower())
        since, limit = since_and_limit(query)
        if since is not None:
            found = found.where(MeetingRow.started_at >= since)
        async with self.storage.session() as session:
            rows = (await session.scalars(found.limit(limit))).all()
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
        async with self.storage.session() as session:
            row = await session.scalar(self._public().where(MeetingRow.id == meeting_id))
            if row is None:
                raise web.HTTPNotFound(reason="No such meeting")
            lines = (
                await session.scalars(
                    select(LineRow).where(LineRow.meeting_id == meeting_id).order_by(LineRow.seq)
                )
            ).all()
            actions = (
                await session.scalars(
                    select(ActionRow)
                    .where(ActionRow.meeting_id == meeting_id)
                    .order_by(ActionRow.seq)
                )
            ).all()
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
        found = (
            select(ActionRow, MeetingRow)
            .join(MeetingRow, MeetingRow.id == ActionRow.meeting_id)
            .where(MeetingRow.restricted.is_(False))
            .order_by(MeetingRow.started_at.desc(), ActionRow.seq)
            .limit(1000)
        )
        if state != "all":
            found = found.where(ActionRow.state == state)
        if query.get("meeting"):
            found = found.where(MeetingRow.name == query["meeting"].lower())
        async with self.storage.session() as session:
            rows = (await session.execute(found)).all()
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


def _event(meeting: Meeting, line: Line, plugin: Meetings) -> bytes:
    """A line as an event ``line``; an edit or a redaction as ``revise``: the lines it changes
    and what they say now (``[message removed]``), so a watcher never keeps a redacted text."""
    if line.kind in REVISIONS:
        target = line.target_id or ""
        revised = {
            "seqs": meeting.seqs_of.get(target, []),
            "text": REDACTED if target in meeting.redacted else meeting.texts.get(target, ""),
        }
        data = json.dumps(revised, ensure_ascii=False)
        return f"id: {line.seq}\nevent: revise\ndata: {data}\n\n".encode()
    data = json.dumps(
        {
            "seq": line.seq,
            "time": line.ts.astimezone(plugin.timezone).strftime("%H:%M:%S"),
            "kind": line.kind,
            "nick": line.nick,
            "text": meeting.text_of(line),
        },
        ensure_ascii=False,
    )
    return f"id: {line.seq}\nevent: line\ndata: {data}\n\n".encode()
