"""Matrix message bodies: a reply's HTML ``formatted_body`` from its plain text (Markdown via
markdown-it-py, raw HTML never passed through), a plugin's own HTML sanitised to the tags the
Matrix spec allows, mention pills, and incoming bodies without the reply fallback."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence
from functools import cache
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt

from ..events import Identity

# The tags and attributes the client-server spec lists for m.room.message formatted bodies.
ALLOWED_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
    "sup", "sub", "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br", "div",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details",
    "summary", "s",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "font": {"data-mx-bg-color", "data-mx-color", "color"},
    "span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler"},
    "a": {"href", "target"},
    "img": {"width", "height", "alt", "title", "src"},
    "ol": {"start"},
    "code": {"class"},
}
URL_SCHEMES = {"https", "http", "ftp", "mailto", "magnet", "mxc"}
_TAG = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z0-9]+)")
_REPLY_FALLBACK = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL)


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("strikethrough")


def sanitise(html: str) -> str:
    """``html`` reduced to what Matrix clients render, with no script, style or handler."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=None,
    )


def pill(who: Identity) -> str:
    """A link Matrix clients show as a mention pill."""
    account = who.account or who.nick
    return (
        f'<a href="https://matrix.to/#/{quote(account, safe="@:")}">{html_lib.escape(who.name)}</a>'
    )


def render(text: str, mentions: Sequence[Identity] = ()) -> str:
    """The HTML of a plain-text reply: its Markdown rendered (raw HTML in it is shown as text),
    and each mentioned person's name turned into a pill where it stands alone as a word."""
    body = str(_markdown().render(text)).strip()
    if body.startswith("<p>") and body.endswith("</p>") and body.count("<p>") == 1:
        body = body[3:-4]  # one paragraph needs no block around it
    people = {html_lib.escape(w.nick): w for w in mentions if w.account is not None}
    if not people:
        return body
    names = re.compile(r"(?<![\w@#/-])(" + "|".join(map(re.escape, people)) + r")(?![\w-])")
    pieces = _TAG.split(body)
    inside = 0  # depth of <a> and <code>, where no pill belongs
    for i, piece in enumerate(pieces):
        if i % 2:
            tag = _TAG_NAME.match(piece)
            if tag and tag.group(2).lower() in ("a", "code", "pre"):
                inside += -1 if tag.group(1) else 1
        elif not inside:
            pieces[i] = names.sub(lambda found: pill(people[found.group(1)]), piece)
    return "".join(pieces)


def strip_reply_fallback(body: str, formatted: str | None) -> tuple[str, str | None]:
    """A reply's own text, without the quoted lines older clients put before it."""
    if body.startswith("> "):
        lines = body.split("\n")
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        if lines and not lines[0].strip():
            lines.pop(0)
        body = "\n".join(lines)
    if formatted is not None:
        formatted = _REPLY_FALLBACK.sub("", formatted)
    return body, formatted
