"""Reading kudos out of chat: ``!kudos WHO... [#category] [for] REASON``, ``WHO++ [for REASON]``,
and the evidence links a reason carries. Pure functions; who counts as a person is the caller's
question (``known``), so ``C++`` or ``i++`` never credit anyone who is not there."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

NICK = r"[A-Za-z_\[\]\\`^{|}][\w\[\]\\`^{|}.\-]*"
_PLUS = re.compile(rf"(?:^|(?<=[\s,(]))@?(?P<who>{NICK}?)\+\+(?=$|[\s,.;:!?)])")
_CODE = re.compile(r"`[^`]*`|```.*?```", re.DOTALL)
_FOR = re.compile(r"^(?:for|because|:|-|—)\s+", re.IGNORECASE)
_CATEGORY = re.compile(r"^#(?P<name>[a-z][a-z0-9_-]*)$", re.IGNORECASE)
_PILL = re.compile(r'<a href="https://matrix\.to/#/(?P<id>@[^"]+)">(?P<text>[^<]*)</a>')

EVIDENCE = [
    ("launchpad", re.compile(r"https?://bugs\.launchpad\.net/\S*?\+bug/\d+")),
    ("launchpad", re.compile(r"\b(?:LP|lp)\s?#\s?\d{4,}\b")),
    ("gerrit", re.compile(r"https?://review\.[\w.-]+/(?:c/\S+?/\+/\d+|#/c/\d+|\d+)")),
    ("storyboard", re.compile(r"https?://storyboard\.[\w.-]+/#!/story/\d+")),
    ("github", re.compile(r"https?://github\.com/[\w.-]+/[\w.-]+/(?:issues|pull)/\d+")),
    (
        "gitlab",
        re.compile(r"https?://[\w.-]*gitlab[\w.-]*/[\w./-]+?/-/(?:issues|merge_requests)/\d+"),
    ),
    ("mailing-list", re.compile(r"https?://(?:lists\.[\w.-]+|[\w.-]*mail-archive\.com)/\S+")),
]


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str
    ref: str


@dataclass(frozen=True, slots=True)
class Request:
    """What ``!kudos ...`` asks for: targets (as written), a category (None: the default), and
    the reason (empty: a question about the targets, not kudos)."""

    targets: tuple[str, ...]
    category: str | None
    reason: str


def evidence_in(text: str) -> list[Evidence]:
    """The evidence links in a reason, in order, each once."""
    found: list[Evidence] = []
    seen: set[str] = set()
    for kind, pattern in EVIDENCE:
        for match in pattern.finditer(text):
            ref = match.group(0).rstrip(".,;)")
            if ref not in seen:
                seen.add(ref)
                found.append(Evidence(kind, ref))
    return sorted(found, key=lambda e: text.find(e.ref))


def pills(html: str | None) -> dict[str, str]:
    """Matrix mention pills in a message's HTML: the text shown, to the user ID it links."""
    if not html:
        return {}
    return {m.group("text"): m.group("id") for m in _PILL.finditer(html)}


def parse_request(args: str, known: Callable[[str], bool]) -> Request:
    """Split ``!kudos`` arguments: leading words that name people (``known``, ``@nick``,
    ``nick,`` or ``nick:``) are targets; then an optional ``#category``; then the reason."""
    words = args.split()
    targets: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        bare = word.rstrip(",:").lstrip("@")
        if not bare or _CATEGORY.match(word) or _FOR.match(word + " "):
            break
        # The first word is always a target (so an unknown one can be refused with a hint);
        # later ones only if they name someone, or are marked as names (@nick, "nick,").
        marked = word.startswith("@") or word.endswith((",", ":")) or word.lower() == "and"
        if targets and not (known(bare) or marked):
            break
        if word.lower() != "and":
            targets.append(bare)
        i += 1
    category = None
    if i < len(words) and (found := _CATEGORY.match(words[i])):
        category = found.group("name").lower()
        i += 1
    reason = " ".join(words[i:])
    reason = _FOR.sub("", reason, count=1).strip()
    return Request(tuple(dict.fromkeys(targets)), category, reason)


def plus_plus(text: str, known: Callable[[str], bool]) -> tuple[list[str], str] | None:
    """``WHO++ [for REASON]`` anywhere in a line (not inside code): the people it credits (only
    ``known`` ones) and the reason after the last ``++``; None if it credits nobody."""
    plain = _CODE.sub(" ", text)
    matches = [m for m in _PLUS.finditer(plain) if m.group("who") and known(m.group("who"))]
    if not matches:
        return None
    targets = list(dict.fromkeys(m.group("who") for m in matches))
    rest = plain[matches[-1].end() :].strip()
    reason = _FOR.sub("", rest, count=1).strip() if _FOR.match(rest + " ") else ""
    return targets, reason
