"""A meeting's outputs, rendered from its state: MeetBot's minutes and logs, Markdown and JSON.

Every function here is pure (state in, text out). HTML comes from Jinja2 templates with
autoescaping, so nothing anyone typed can become markup; Markdown escapes it too.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from markupsafe import Markup, escape

from .engine import REDACTED, SAID, Item, Line, Meeting
from .paths import basename

MEETBOT_URL = "http://wiki.debian.org/MeetBot"
KIND_PREFIX = {"INFO": "", "TOPIC": ""}
CLOCK_CACHE = 4096
LOG_HTML_FOOT = "</body>\n</html>\n"
"""What closes a ``.log.html``: written when the meeting ends (a live log is open-ended)."""

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def _templates() -> Environment:
    """Loaded when the first minutes are written, not when the bot starts."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    folder = Path(__file__).parent / "templates"
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Context:
    """What every renderer needs besides the meeting: where the files are and the time zone."""

    def __init__(
        self,
        meeting: Meeting,
        base: str,
        url_prefix: str = "",
        tz: tzinfo = UTC,
        prepared: Prepared | None = None,
    ) -> None:
        self.meeting = meeting
        self.prepared: Prepared = prepared if prepared is not None else {}
        """Items' rows rendered already (the live bot renders each as it is recorded)."""
        self.base = base
        self.url_prefix = url_prefix.rstrip("/")
        self.tz = tz
        self.file = base.rsplit("/", 1)[-1]
        self._clock: dict[datetime, str] = {}
        self._utc = tz.utcoffset(None) == timedelta(0)
        self._item_rows: list[ItemRows] | None = None

    def item_rows(self) -> list[ItemRows]:
        """Every item's rows (:func:`item_rows`), looked up once for all the minutes' files."""
        if self._item_rows is None:
            prepared, file, tz = self.prepared, self.file, self.tz
            self._item_rows = [
                prepared.get((item, file, after)) or item_rows(item, file, tz, after)
                for item, after in _placed(self)
            ]
        return self._item_rows

    @property
    def archive(self) -> str:
        """The series' folder (``name/`` in MeetBot's layout), relative to the files: the link
        back from the minutes to the meeting's other minutes."""
        parts = self.base.split("/")
        return f"{'../' * (len(parts) - 1)}{parts[0]}/" if len(parts) > 1 else "./"

    def url(self, extension: str) -> str:
        prefix = f"{self.url_prefix}/" if self.url_prefix else ""
        return f"{prefix}{self.base}{extension}"

    def time(self, ts: datetime) -> str:
        """``HH:MM:SS`` in the display time zone (cached: a log repeats its seconds)."""
        found = self._clock.get(ts)
        if found is None:
            if len(self._clock) >= CLOCK_CACHE:  # live lines rarely share a timestamp
                self._clock.clear()
            local = ts if self._utc else ts.astimezone(self.tz)
            found = self._clock[ts] = f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
        return found

    @property
    def zone(self) -> str:
        return datetime.now(self.tz).strftime("%Z") or "UTC"

    @property
    def start(self) -> datetime:
        assert self.meeting.started_at is not None
        return self.meeting.started_at

    @property
    def end(self) -> datetime:
        meeting = self.meeting
        return meeting.ended_at or (meeting.lines[-1].ts if meeting.lines else self.start)

    @property
    def title(self) -> str:
        meeting = self.meeting
        return f"{meeting.channel}: {meeting.meeting_topic or meeting.name}"


def item_label(item: Item) -> str:
    prefix = KIND_PREFIX.get(item.kind, f"{item.kind}: ")
    return f"{prefix}{item.text}"


def minutes_txt(ctx: Context) -> str:
    """MeetBot's text minutes (reStructuredText), same sections and headings."""
    meeting = ctx.meeting
    rule = "=" * max(len(ctx.title), 10)
    out = [rule, ctx.title, rule, "", ""]
    out += _wrap(
        f"Meeting started by {meeting.owner.nick if meeting.owner else '?'} at "
        f"{ctx.time(ctx.start)} {ctx.zone}.  The full logs are available at "
        f"{ctx.url('.log.html')} .",
        "",
    )
    out += ["", "", "", "Meeting summary", "---------------"]
    out += [rows.txt for rows in ctx.item_rows()]
    out += ["", f"Meeting ended at {ctx.time(ctx.end)} {ctx.zone}.", "", "", "", ""]
    out += ["Action items", "------------"]
    actions = meeting.actions()
    out += [line for a in actions for line in _wrap(f"* {a.text}", "  ")] or ["* (none)"]
    out += ["", "", "", "", "Action items, by person", "-----------------------"]
    by_person, unassigned = meeting.actions_by_person()
    for nick, items in by_person.items():
        out.append(f"* {nick}")
        out += [line for a in items for line in _wrap(f"  * {a.text}", "    ")]
    out.append("* **UNASSIGNED**")
    out += [line for a in unassigned for line in _wrap(f"  * {a.text}", "    ")] or ["  * (none)"]
    out += ["", "", "", "", "People present (lines said)", "---------------------------"]
    out += [f"* {nick} ({count})" for nick, count in meeting.people_present()]
    out += [
        "",
        "",
        "",
        "",
        "Generated by `MeetBot`_ 0.1.4 (opsbot)",
        "",
        f".. _`MeetBot`: {MEETBOT_URL}",
        "",
    ]
    return "\n".join(out)


def _wrap(text: str, indent: str) -> list[str]:
    """Wrap at 80 columns as MeetBot does; words longer than a line (URLs) stay whole."""
    if len(text) <= 80 and "\n" not in text:
        return [text]
    return textwrap.wrap(
        text, width=80, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    ) or [text]


def log_line_txt(ctx: Context, line: Line, text: str | None = None) -> str | None:
    """One line of the text log, or None for events the log does not show on their own.
    ``text``: what the line says now, if not read from the meeting (a snapshot's)."""
    stamp = ctx.time(line.ts)
    if text is None:
        text = ctx.meeting.text_of(line)
    if line.kind == "message":
        return f"{stamp} <{line.nick}> {text}"
    if line.kind == "action":
        return f"{stamp} * {line.nick} {text}"
    if line.kind == "notice":
        return f"{stamp} -{line.nick}- {text}"
    if line.kind == "join":
        return f"{stamp} *** {line.nick} has joined"
    if line.kind in ("part", "quit"):
        verb = "has quit" if line.kind == "quit" else "has left"
        return f"{stamp} *** {line.nick} {verb}" + (f" ({line.text})" if line.text else "")
    if line.kind == "nick":
        return f"{stamp} *** {line.nick} is now known as {line.text}"
    return None  # edits and redactions show in the line they change


def log_txt(ctx: Context, lines: Iterable[tuple[Line, str]] | None = None) -> str:
    """The whole text log; ``lines``: ``(line, what it says now)``, else the meeting's own."""
    pairs = lines if lines is not None else ctx.meeting.said_now()
    return "".join(f"{row}\n" for line, text in pairs if (row := log_line_txt(ctx, line, text)))


_MD_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in "\\`*_{}[]()#+!|~"}}
)


def _md(text: str) -> str:
    """Markdown that shows ``text`` literally: HTML escaped, Markdown punctuation backslashed."""
    return text.translate(_MD_ESCAPES)


def minutes_md(ctx: Context) -> str:
    meeting = ctx.meeting
    out = [f"# {_md(ctx.title)}", ""]
    out.append(
        f"Meeting started by {_md(meeting.owner.nick if meeting.owner else '?')} at "
        f"{ctx.time(ctx.start)} {ctx.zone}, ended at {ctx.time(ctx.end)} {ctx.zone}. "
        f"[Full log]({ctx.url('.log.html')})"
    )
    out += ["", "## Meeting summary", ""]
    out += [rows.md for rows in ctx.item_rows()]
    out += ["", "## Action items", ""]
    out += [f"* {_md(a.text)}" for a in meeting.actions()] or ["* (none)"]
    out += ["", "## Action items, by person", ""]
    by_person, unassigned = meeting.actions_by_person()
    for nick, items in by_person.items():
        out.append(f"* {_md(nick)}")
        out += [f"  * {_md(a.text)}" for a in items]
    out.append("* **UNASSIGNED**")
    out += [f"  * {_md(a.text)}" for a in unassigned] or ["  * (none)"]
    out += ["", "## People present (lines said)", ""]
    out += [f"* {_md(nick)} ({count})" for nick, count in meeting.people_present()]
    return "\n".join(out) + "\n"


def record(ctx: Context, *, items: bool = True) -> dict[str, Any]:
    """The machine-readable record (``.json``); documented in the README. Without ``items``
    (:func:`record_json` joins them from their rendered rows), nor the key."""
    meeting = ctx.meeting
    by_person, unassigned = meeting.actions_by_person()
    return {
        "meeting_name": meeting.name,
        "title": ctx.title,
        "channel": meeting.channel,
        "network": meeting.network,
        "start": ctx.start.isoformat(),
        "end": ctx.end.isoformat(),
        "ended": meeting.ended,
        "restricted": meeting.restricted,
        "owner": meeting.owner.nick if meeting.owner else None,
        "chairs": [chair.nick for chair in meeting.chairs],
        "topics": meeting.topics(),
        **({"items": [_item_record(item) for item in meeting.items]} if items else {}),
        "actions": [
            {"text": a.text, "owners": meeting.owners(a), "line": a.seq} for a in meeting.actions()
        ],
        "actions_by_person": {nick: [a.text for a in items] for nick, items in by_person.items()},
        "actions_unassigned": [a.text for a in unassigned],
        "people_present": dict(meeting.people_present()),
        "votes": [
            {
                "question": v.question,
                "options": v.options,
                "counts": {o: len(voters) for o, voters in v.counts().items()},
                "voters": v.counts(),
                "motion": v.is_motion,
                "closed": v.closed,
            }
            for v in meeting.votes
        ],
        "links": {
            ext.lstrip("."): ctx.url(ext)
            for ext in (".html", ".txt", ".log.html", ".log.txt", ".md", ".json")
        },
    }


def summary(ctx: Context) -> dict[str, Any]:
    """What chat answers and listings need, without the items (the .json file has them)."""
    meeting = ctx.meeting
    return {
        "topics": meeting.topics(),
        "actions": [{"text": a.text, "owners": meeting.owners(a)} for a in meeting.actions()],
        "people_present": dict(meeting.people_present()),
        "chairs": [chair.nick for chair in meeting.chairs],
        "items": len(meeting.items),
        "lines": len(meeting.lines),
    }


def warm_up() -> None:
    """Compile the templates now (the first meeting's end should not pay for it)."""
    for name in ("minutes.html", "log.html"):
        _templates().get_template(name)


def minutes_html(ctx: Context) -> str:
    meeting = ctx.meeting
    by_person, unassigned = meeting.actions_by_person()
    return (
        _templates()
        .get_template("minutes.html")
        .render(
            ctx=ctx,
            meeting=meeting,
            items=meeting.items,
            actions=meeting.actions(),
            by_person=by_person,
            unassigned=unassigned,
            people=meeting.people_present(),
            summary_rows=Markup(summary_rows(ctx)),
            meetbot_url=MEETBOT_URL,
        )
    )


def summary_rows(ctx: Context) -> str:
    """The minutes' summary list, items under their topics, as HTML (built here rather than in
    the template: a long meeting's minutes are mostly this, and Jinja's loop is slower)."""
    out = []
    opened = False
    for (item, after_topic), rows in zip(_placed(ctx), ctx.item_rows(), strict=True):
        if item.kind == "TOPIC" and after_topic:
            out.append("</ol></li>\n")  # the topic before it ends here
        out.append(rows.html)
        opened = opened or item.kind == "TOPIC"
    if opened:
        out.append("</ol></li>\n")
    return "".join(out)


def _placed(ctx: Context) -> Iterator[tuple[Item, bool]]:
    """Each item, and whether a topic comes before it (its rows are indented under it)."""
    after_topic = False
    for item in ctx.meeting.items:
        yield item, after_topic
        after_topic = after_topic or item.kind == "TOPIC"


class ItemRows(NamedTuple):
    html: str
    txt: str
    md: str
    json: str


Prepared = dict[tuple[Item, str, bool], ItemRows]
"""A live meeting's items' rows by (item, file name, after a topic): rendered as each item is
recorded (:func:`prepare`), so a long meeting's end only joins them; dropped with the meeting."""


def item_rows(item: Item, file: str, tz: tzinfo, after_topic: bool) -> ItemRows:
    """An item's rows in the .html, .txt and .md summaries and in the .json record."""
    when = _clock(item.ts, tz)
    text, nick = escape(item.text), escape(item.nick)
    link = f"{escape(file)}.log.html#l-{item.seq}"
    if item.kind == "TOPIC":
        html = (
            f'<li class="topic"><a href="{link}">{text}</a> '
            f'<span class="who">({nick}, {escape(when)})</span><ol type="a">\n'
        )
        txt = "\n".join(_wrap(f"* {item.text}  ({item.nick}, {when})", "  "))
        md = f"* **{_md(item.text)}** ({_md(item.nick)}, {when})"
    else:
        kind = escape(KIND_PREFIX.get(item.kind, f"{item.kind}: "))
        if item.kind == "LINK" and item.text.startswith(("http://", "https://")):
            text = Markup(f'<a href="{escape(item.text.split()[0])}" rel="nofollow">{text}</a>')
        html = (
            f'<li><span class="kind">{kind}</span>{text} '
            f'<span class="who">(<a href="{link}">{nick}, {escape(when)}</a>)</span></li>\n'
        )
        indent = "  " if after_topic else ""
        txt = "\n".join(
            _wrap(f"{indent}* {item_label(item)}  ({item.nick}, {when})", indent + "  ")
        )
        md_kind = KIND_PREFIX.get(item.kind, f"**{item.kind}**: ")
        md = f"{indent}* {md_kind}{_md(item.text)} ({_md(item.nick)}, {when})"
    data = json.dumps(_item_record(item), ensure_ascii=False, separators=(",", ":"))
    return ItemRows(html, txt, md, data)


def _item_record(item: Item) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "nick": item.nick,
        "text": item.text,
        "time": item.ts.isoformat(),
        "line": item.seq,
    }


def prepare(prepared: Prepared, meeting: Meeting, item: Item, tz: tzinfo) -> None:
    """Render an item's rows now, as it is recorded, so the meeting's end finds them ready."""
    if meeting.started_at is None:
        return
    base = basename(meeting.name, meeting.started_at, meeting.settings.pattern)
    # A guess (a miss only means rendering it at the end): after a topic if one is current.
    after_topic = len(meeting.topics()) > 1 if item.kind == "TOPIC" else bool(meeting.current_topic)
    file = base.rsplit("/", 1)[-1]
    prepared[(item, file, after_topic)] = item_rows(item, file, tz, after_topic)


def _clock(ts: datetime, tz: tzinfo) -> str:
    local = ts if tz.utcoffset(None) == timedelta(0) else ts.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"


def log_row(ctx: Context, line: Line, text: str | None = None) -> str | None:
    """One line of the HTML log. Only the nick and the text come from people, and both go
    through markupsafe's ``escape`` (the template engine's own escaper) before anything else."""
    if text is None:
        text = ctx.meeting.text_of(line)
    kind = line.kind
    if kind == "message":
        css, who = ("cmd" if text.startswith("#") else "said"), f"<{line.nick}>"
    elif kind == "action":
        css, who = "act", f"* {line.nick}"
    elif kind == "notice":
        css, who = "said", f"-{line.nick}-"
    else:
        event = log_line_txt(ctx, line, text)
        if event is None:
            return None
        css, who, text = "event", "", event.split(" ", 1)[1]
    edited = " <i>(edited)</i>" if kind in SAID and text not in (line.text, REDACTED) else ""
    seq = line.seq
    return (
        f'<pre id="l-{seq}" class="{css}"><a class="time" href="#l-{seq}">{ctx.time(line.ts)}</a> '
        f"<b>{escape(who)}</b> {escape(text)}{edited}</pre>"
    )


def log_html_head(ctx: Context) -> str:
    """The ``.log.html`` up to its first row: what a live log starts with."""
    return _templates().get_template("log.html").render(ctx=ctx) + "\n"


def log_html_key(ctx: Context) -> tuple[object, ...]:
    """What the head of the ``.log.html`` shows: when it changes, the head is written again."""
    meeting = ctx.meeting
    return (ctx.title, meeting.name, meeting.owner, meeting.started_at)


def log_html(
    ctx: Context, lines: Iterable[tuple[Line, str]] | None = None, *, ended: bool = True
) -> str:
    """The whole HTML log; ``lines`` as for :func:`log_txt`; the foot only once it ended."""
    pairs = lines if lines is not None else ctx.meeting.said_now()
    rows = "".join(f"{row}\n" for line, text in pairs if (row := log_row(ctx, line, text)))
    return log_html_head(ctx) + rows + (LOG_HTML_FOOT if ended else "")


def record_json(ctx: Context) -> str:
    """The record as JSON, its items joined from their rendered rows (:func:`item_rows`)."""
    data = record(ctx, items=False)
    keys = list(data)
    cut = keys.index("topics") + 1  # the items follow the topics
    # No indent: with one, json falls back to its pure-Python encoder (several times slower).
    head, tail = (
        json.dumps({key: data[key] for key in part}, ensure_ascii=False, separators=(",", ":"))
        for part in (keys[:cut], keys[cut:])
    )
    items = ",".join(rows.json for rows in ctx.item_rows())
    return f'{head[:-1]},"items":[{items}],{tail[1:]}\n'


MINUTES: dict[str, Callable[[Context], str]] = {
    ".html": minutes_html,
    ".txt": minutes_txt,
    ".md": minutes_md,
    ".json": record_json,
}
"""The outputs made of the items (what #endmeeting writes); the logs are made of the lines."""
LOGS: dict[str, Callable[[Context], str]] = {".log.html": log_html, ".log.txt": log_txt}


def render_all(ctx: Context, *, logs: bool = True) -> dict[str, str]:
    """Every output by extension; only the minutes if ``logs`` is false (a live bot has written
    the logs as the lines came)."""
    return {
        extension: render(ctx)
        for extension, render in (MINUTES | LOGS if logs else MINUTES).items()
    }
