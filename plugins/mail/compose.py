"""The minutes mail: headers (Message-ID made once, here), a plain-text body with the summary, the
action items by person and the links, the ``.txt`` minutes attached or inline, and optionally an
HTML alternative, both from the plugin's Jinja templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from opsbot.events import utcnow

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
_QP_UTF8 = Charset("utf-8")
_QP_UTF8.body_encoding = QP
MAX_LINE = 998
"""RFC 5322's limit of a line's length, without its CRLF."""
LINKS = (("Minutes", ".html"), ("Minutes (text)", ".txt"), ("Log", ".log.html"))


@dataclass(frozen=True)
class Minutes:
    """What the mail tells of one ended meeting."""

    meeting_id: int
    meeting_name: str
    room: str
    started_at: datetime
    chairs: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    actions: list[tuple[str, list[str]]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    pad_url: str | None = None
    minutes_text: str = ""

    def by_person(self) -> list[tuple[str, list[str]]]:
        people: dict[str, list[str]] = {}
        for text, owners in self.actions:
            for owner in owners or ["UNASSIGNED"]:
                people.setdefault(owner, []).append(text)
        return sorted(people.items(), key=lambda kv: (kv[0] == "UNASSIGNED", kv[0].casefold()))


@dataclass(frozen=True)
class Addressing:
    sender: str
    """The From header (``opsbot <opsbot@example.org>``)."""
    to: list[str]
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None
    subject: str = ""

    @property
    def envelope_sender(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def recipients(self) -> list[str]:
        found = [address for _, address in getaddresses([*self.to, *self.cc]) if address]
        return list(dict.fromkeys(found))


@cache
def _templates(folder: Path) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader([folder, TEMPLATES]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def waiting(count: int) -> str:
    """``1 mail waits``, ``3 mails wait``."""
    return "1 mail waits" if count == 1 else f"{count} mails wait"


def encoding_of(text: str) -> str:
    """7bit where the text is ASCII in lines SMTP takes (it reads as it is in a list's archive
    and in any client), else quoted-printable (still mostly readable, unlike base64)."""
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.splitlines()):
        return "7bit"
    return "quoted-printable"


def new_message_id(sender: str, what: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "opsbot.invalid"
    return make_msgid(idstring=what, domain=domain)


def compose(
    minutes: Minutes,
    addressing: Addressing,
    *,
    message_id: str,
    attach: bool,
    inline: bool,
    html: bool,
    bare: bool = False,
    tz: tzinfo,
    templates: Path = TEMPLATES,
) -> Message:
    """The mail of ``minutes``. ``bare``: only the links (a line of the meeting was redacted
    after it ended: the summary and the minutes' text may hold it)."""
    started = minutes.started_at.astimezone(tz)
    links = [(label, minutes.links[ext]) for label, ext in LINKS if ext in minutes.links]
    if minutes.pad_url:
        links.append(("Pad", minutes.pad_url))
    context = {
        "title": f"{minutes.meeting_name} meeting minutes {started:%Y-%m-%d}",
        "started": f"{started:%Y-%m-%d %H:%M} {started.tzname() or ''}".strip(),
        "room": minutes.room,
        "chairs": minutes.chairs,
        "topics": minutes.topics,
        "by_person": minutes.by_person(),
        "links": links,
        "inline": inline,
        "bare": bare,
        "minutes_text": minutes.minutes_text,
    }
    env = _templates(templates)
    text = env.get_template("minutes.txt").render(context)
    body: Message = _text(text, "plain")
    if html:
        alternative = MIMEMultipart("alternative")
        alternative.attach(body)
        alternative.attach(_text(env.get_template("minutes.html").render(context), "html"))
        body = alternative
    message: Message = body
    if attach and minutes.minutes_text and not bare:
        message = MIMEMultipart("mixed")
        message.attach(body)
        attached = _text(minutes.minutes_text, "plain")
        name = minutes.links.get(".txt", "minutes.txt").rsplit("/", 1)[-1]
        attached.add_header("Content-Disposition", "attachment", filename=name)
        message.attach(attached)
    _head(message, addressing.sender, addressing.to, addressing.subject, message_id)
    if addressing.cc:
        message["Cc"] = _addresses(addressing.cc)
    if addressing.reply_to:
        message["Reply-To"] = _addresses([addressing.reply_to])
    return message


def personal(sender: str, to: str, subject: str, text: str, *, message_id: str) -> Message:
    """A short mail to one person (a verification code, a follow-up of their action item)."""
    message = _text(text, "plain")
    _head(message, sender, [to], subject, message_id)
    return message


# The email package's legacy (compat32) classes: four times faster to write a mail than
# EmailMessage's header objects, for the same bytes on the wire.


def _text(text: str, subtype: str) -> MIMEText:
    if encoding_of(text) == "7bit":
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, _QP_UTF8)  # type: ignore[arg-type]


def _addresses(values: list[str]) -> str:
    return ", ".join(formataddr(pair, charset="utf-8") for pair in getaddresses(values))


def _head(message: Message, sender: str, to: list[str], subject: str, message_id: str) -> None:
    message["From"] = _addresses([sender])
    message["To"] = _addresses(to)
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"


def valid_address(text: str) -> bool:
    """One address, as a person writes it (``ops@lists.example.org`` or with a name)."""
    _, address = parseaddr(text)
    if not address or address.count("@") != 1 or any(c.isspace() for c in address):
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    local, _, domain = address.partition("@")
    return bool(local) and "." in domain.strip(".") and not domain.startswith(".")
