"""The meeting engine: a pure fold of a meeting's log into its state, MeetBot-compatible.

Every line of a meeting (what people said, joins, parts, nick changes, edits, redactions, the
bot's own answers) is fed to :meth:`Meeting.feed` in order; the state and the minutes are a pure
function of that log. ``feed`` returns the effects the line has (answers to say, a channel topic
to set, outputs to write): the live plugin performs them; ``replay`` and ``import`` ignore the
answers, since a transcript already holds the answers the original bot gave.

No I/O and no database here, so replaying a transcript needs nothing but this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from .appended import Appended
from .paths import DEFAULT_PATTERN, MAX_NAME_IN_PATH, basename

LineKind = Literal[
    "message", "action", "notice", "join", "part", "quit", "nick", "edit", "redaction", "agenda"
]
SAID = ("message", "action", "notice")
REDACTED = "[message removed]"
MEETBOT_INFO = "Information about MeetBot at http://wiki.debian.org/MeetBot."
URL_START = re.compile(r"^(?:https?|ftp)://\S+", re.IGNORECASE)
COMMAND = re.compile(r"^(?P<name>[A-Za-z]+)(?:\s+(?P<args>.*))?$", re.DOTALL)

ITEM_COMMANDS = {
    "info": "INFO",
    "idea": "IDEA",
    "help": "HELP",
    "halp": "HELP",
    "link": "LINK",
    "action": "ACTION",
    "thanks": "THANKS",
}
CHAIR_ITEM_COMMANDS = {
    "agreed": "AGREED",
    "agree": "AGREED",
    "accepted": "ACCEPTED",
    "accept": "ACCEPTED",
    "rejected": "REJECTED",
    "reject": "REJECTED",
    "failed": "FAILED",
    "inconclusive": "INCONCLUSIVE",
}
CHAIR_COMMANDS = {
    "endmeeting",
    "topic",
    "meetingtopic",
    "meetingname",
    "chair",
    "unchair",
    "undo",
    "save",
    "startvote",
    "endvote",
    "motion",
    "close",
    "lurk",
    "unlurk",
    "restrictlogs",
    *CHAIR_ITEM_COMMANDS,
}
ANYONE_COMMANDS = {
    "startmeeting",
    "nick",
    "here",
    "vote",
    "showvote",
    "commands",
    "actions",
    *ITEM_COMMANDS,
}
ALL_COMMANDS = CHAIR_COMMANDS | ANYONE_COMMANDS
USEFUL = "Useful Commands: #action #agreed #help #info #idea #link #topic #startvote."


MAX_NAME = MAX_NAME_IN_PATH
"""Longest meeting name: ``NAME.YYYY-MM-DD-HH.MM.log.html``, MeetBot's longest file name, must
fit the 255 bytes a file name may have (MeetBot itself fails to write longer ones)."""
NICK_LIST = re.compile(r"[,\s]+")


def sanitise_name(text: str) -> str:
    """A meeting name as OpenStack's MeetBot makes it from ``#startmeeting NAME`` or
    ``#meetingname NAME``: lower case, runs of white space as one ``_``, then every character
    but ``a-z`` and ``0-9`` as ``_`` (``scientific-sig`` is ``scientific_sig``). It names the
    archive's folders and URLs, so it is never empty and never longer than :data:`MAX_NAME`."""
    name = re.sub(r"[^a-z0-9]", "_", "_".join(text.lower().split()))
    return name[:MAX_NAME] or "meeting"


def default_name(channel: str) -> str:
    """The name of a meeting started without one: MeetBot's channel rule (``#`` and spaces
    stripped, lower case, no ``/``), the server part of a Matrix room ID or alias left out
    (room version 12 IDs have none), and anything a path could trip on (not a letter, digit,
    ``-``, ``_`` or ``.``; a leading dot) as ``_``."""
    name = channel.strip("# ").lower().replace("/", "")
    if name.startswith("!") or (channel.startswith("#") and ":" in name):
        name = name.lstrip("!").split(":", 1)[0]
    name = re.sub(r"[^a-z0-9_.-]", "_", name).lstrip(".")
    return name[:MAX_NAME] or "meeting"


def nick_list(text: str) -> list[str]:
    """The nicks of ``#chair a, b``, ``#nick a b`` and the like: split on commas and white
    space, as MeetBot splits them, so no nick ever carries a comma."""
    return [nick for nick in NICK_LIST.split(text) if nick]


def asctime(ts: datetime) -> str:
    """``Tue Feb  5 14:00:47 2019``, as MeetBot prints times."""
    return f"{ts:%a %b} {ts.day:2d} {ts:%H:%M:%S %Y}"


def fold(text: str) -> str:
    return text.casefold()


@dataclass(slots=True)
class Line:
    """One line of a meeting's log."""

    ts: datetime
    nick: str
    text: str = ""
    kind: LineKind = "message"
    account: str | None = None
    display: str | None = None
    is_bot: bool = False
    msg_id: str | None = None
    target_id: str | None = None
    """The line an edit or redaction refers to (its ``msg_id``)."""
    moderator: bool = False
    """Said by a room moderator (op, Matrix power level 50+), who may use chair commands."""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Person:
    nick: str
    account: str | None = None

    def is_same(self, nick: str, account: str | None) -> bool:
        """Accounts decide where the network proves them; else nicks, case-insensitively."""
        if self.account is not None:
            return account == self.account
        return fold(nick) == fold(self.nick)


@dataclass(frozen=True, slots=True)
class Item:
    """An item of the minutes. Immutable: an edit makes a new one in its place, so an item
    handed out in an effect (to the pad, to other plugins) never changes under its holder."""

    kind: str
    nick: str
    text: str
    ts: datetime
    seq: int
    """The log line that recorded it (for links to the log)."""
    command: str = ""


@dataclass(frozen=True, slots=True)
class Vote:
    """A vote or motion; a ballot or closing it makes a new one."""

    question: str
    options: tuple[str, ...]
    opened_by: str
    ts: datetime
    is_motion: bool = False
    ballots: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Voter (folded nick) to (nick as written, option)."""
    voted: tuple[str, ...] = ()
    """Options in the order they first got a ballot (MeetBot reports them in that order)."""
    closed: bool = False

    def cast(self, nick: str, option: str) -> Vote:
        voted = self.voted if option in self.voted else (*self.voted, option)
        return replace(self, ballots={**self.ballots, fold(nick): (nick, option)}, voted=voted)

    def counts(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {option: [] for option in self.options}
        for nick, option in self.ballots.values():
            result[option].append(nick)
        return result

    def summary(self) -> str:
        return ", ".join(f"{option}: {len(voters)}" for option, voters in self.counts().items())

    def result(self) -> str:
        """The minutes' record of a closed vote in MeetBot's words: ``Voted on "QUESTION?"
        Results are, OPTION: N, ...``, each option that was ever voted for, in the order it first
        was (one whose voters all changed their minds stays, with 0)."""
        counts = self.counts()
        return self.heading() + "".join(f", {o}: {len(counts[o])}" for o in self.voted)

    def heading(self) -> str:
        return f'Voted on "{self.question.rstrip("?")}?" Results are'


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    mentions: tuple[str, ...] = ()
    """Nicks the text names (action owners), for networks that link people (Matrix pills)."""


@dataclass(frozen=True, slots=True)
class SetTopic:
    text: str


@dataclass(frozen=True, slots=True)
class Save:
    """Write every output now (``#save``)."""


@dataclass(frozen=True, slots=True)
class Ended:
    """The meeting is over: write every output and close it."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """A minute item was recorded (for other plugins: the pad, records)."""

    item: Item


@dataclass(frozen=True, slots=True)
class Undone:
    item: Item


@dataclass(frozen=True, slots=True)
class Revised:
    """A recorded item's line was edited (the item has its new text) or redacted (the item is
    gone from the minutes): what holds a copy (the pad) must follow."""

    item: Item
    redacted: bool = False


Effect = Reply | SetTopic | Save | Ended | Recorded | Undone | Revised


@dataclass(frozen=True, slots=True)
class Settings:
    prefixes: tuple[str, ...] = ("#", "!")
    reserved: frozenset[str] = frozenset()
    """Names that, after a prefix other than ``#``, belong to the bot's own commands."""
    duration: timedelta = timedelta(minutes=60)
    pattern: str = DEFAULT_PATTERN
    """Where the files go (see :mod:`.paths`); the end announces their links."""
    links: tuple[tuple[str, str], ...] = ()
    """``(label, url)`` announced at the end, e.g. ``("Minutes", "https://x/{path}.html")``;
    ``{path}`` is the files' path from ``pattern``."""
    url_prefix: str = ""
    """Where the archive is on the web, as the files' own links name it."""

    def to_json(self) -> dict[str, object]:
        """What is stored with the meeting when it starts, so that resuming, replaying and
        regenerating it read its lines as they were read when said, whatever the config
        says later."""
        return {
            "prefixes": list(self.prefixes),
            "reserved": sorted(self.reserved),
            "duration_seconds": self.duration.total_seconds(),
            "pattern": self.pattern,
            "links": [list(link) for link in self.links],
            "url_prefix": self.url_prefix,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        return cls(
            prefixes=tuple(str(p) for p in data["prefixes"]),
            reserved=frozenset(str(r) for r in data["reserved"]),
            duration=timedelta(seconds=float(data["duration_seconds"])),
            pattern=str(data["pattern"]),
            links=tuple((str(label), str(url)) for label, url in data["links"]),
            url_prefix=str(data.get("url_prefix", "")),
        )


class State(NamedTuple):
    """What a meeting is after its lines so far: a value. A line that changes it makes a new
    one, so whoever holds a state (a renderer, another plugin) holds it as it was. (A named
    tuple: making the next one is three times quicker than a frozen dataclass's ``replace``.)"""

    name: str
    owner: Person | None = None
    chairs: tuple[Person, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    meeting_topic: str = ""
    current_topic: str = ""
    agenda: tuple[str, ...] = ()
    """Items ``#topic next`` walks through (an ``agenda`` line sets them)."""
    agenda_done: int = 0
    lurking: bool = False
    restricted: bool = False
    extra_nicks: tuple[str, ...] = ()
    """Attendees named with ``#nick`` and ``#here``."""
    items: Appended[Item] = Appended()
    votes: tuple[Vote, ...] = ()


T = TypeVar("T")


class _Field(Generic[T]):
    """A meeting's read-only view of one field of its current :class:`State`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, meeting: Meeting | None, owner: type | None = None) -> T:
        if meeting is None:
            raise AttributeError(self.name)
        value: T = getattr(meeting.state, self.name)
        return value

    def __set__(self, meeting: Meeting, value: T) -> None:
        raise AttributeError(f"a meeting's {self.name} changes only by its lines (or keep_name)")


class Meeting:
    """One meeting, folded line by line: :meth:`feed` takes a line and returns the facts it
    makes (effects); :attr:`state` is the meeting's value after it.

    Beside the state, the meeting keeps an index of its log (the lines, who said how much,
    which texts were edited or redacted, the names people go by). It only ever grows, line by
    line; copying it for every line would make a long meeting's fold quadratic.
    """

    name = _Field[str]()
    owner = _Field[Person | None]()
    chairs = _Field[tuple[Person, ...]]()
    started_at = _Field[datetime | None]()
    ended_at = _Field[datetime | None]()
    meeting_topic = _Field[str]()
    current_topic = _Field[str]()
    agenda = _Field[tuple[str, ...]]()
    agenda_done = _Field[int]()
    lurking = _Field[bool]()
    restricted = _Field[bool]()
    extra_nicks = _Field[tuple[str, ...]]()
    items = _Field[Appended[Item]]()
    votes = _Field[tuple[Vote, ...]]()

    def __init__(self, network: str, channel: str, settings: Settings | None = None) -> None:
        self.network = network
        self.channel = channel
        self.settings = settings or Settings()
        self.state = State(name=default_name(channel))
        self._parsed_text: str | None = None
        self._parsed: tuple[str, str] | None = None
        self.lines: list[Line] = []
        self.aliases: dict[str, list[str]] = {}
        """Folded nick to the other names that person answers to (``#here`` aliases, Matrix
        display names and user-ID localparts)."""
        self.accounts: dict[str, str | None] = {}
        """Folded nick to the account last seen with it."""
        self.said: dict[str, int] = {}
        self.spelling: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        """msg_id to the latest text of an edited line (a line never edited says its own)."""
        self.redacted: set[str] = set()
        self.item_of: dict[int, Item] = {}
        """Log line (seq) to the item it made (edits and redactions change that item)."""
        self._alias_count = 0
        self._people_key: object = None
        self._people: list[str] = []
        self._owners: dict[tuple[int, str], list[str]] = {}
        self._owner_key: object = None
        self._owner_pattern: re.Pattern[str] | None = None
        self._owner_names: dict[str, str] = {}
        self.seqs_of: dict[str, int] = {}
        """msg_id to the first log line that carries it (edits and redactions find them here;
        :meth:`seqs` gives them all). An int, not a list per line: a long meeting has many."""
        self._more_seqs: dict[str, list[int]] = {}
        self._noted: list[Effect] = []

    # the fold

    def _set(self, **changes: Any) -> None:
        self.state = self.state._replace(**changes)

    def keep_name(self, name: str) -> None:
        """An imported archive keeps the name its files have, whatever its lines said."""
        self._set(name=name)

    @property
    def started(self) -> bool:
        return self.state.started_at is not None

    @property
    def ended(self) -> bool:
        return self.state.ended_at is not None

    @property
    def open_vote(self) -> Vote | None:
        votes = self.state.votes
        return votes[-1] if votes and not votes[-1].closed else None

    def _replace_vote(self, vote: Vote) -> None:
        self._set(votes=(*self.state.votes[:-1], vote))

    def feed(self, line: Line) -> list[Effect]:
        """Add ``line`` to the log and apply it; returns what should happen because of it."""
        line.seq = len(self.lines)
        self.lines.append(line)
        self._noted = []
        if line.msg_id is not None:
            first = self.seqs_of.setdefault(line.msg_id, line.seq)
            if first != line.seq:  # a multi-line message: each of its lines carries its ID
                self._more_seqs.setdefault(line.msg_id, []).append(line.seq)
        if line.kind == "nick":
            self._rename(line.nick, line.text, line.account)
            return []
        if line.kind == "agenda":  # from elsewhere (the pad), one item per line of text
            agenda = tuple(item for item in line.text.split("\n") if item.strip())
            self._set(agenda=agenda, agenda_done=0)
            return []
        self._note_person(line)
        if line.kind == "edit":
            return self._edit(line)
        if line.kind == "redaction":
            return self._redact(line)
        if line.kind not in SAID:
            return []
        if self.state.ended_at is None:
            self._count(line)  # lines said count from #startmeeting to #endmeeting
        if line.is_bot or line.kind != "message":
            return []
        effects = self._noted + self._apply(line)
        if self.state.lurking:
            effects = [e for e in effects if not isinstance(e, Reply)]
        return effects

    def parse(self, text: str) -> tuple[str, str] | None:
        """``(command, arguments)`` if the line is a meeting command. The plugin, the engine and
        the announcement of what a line did all ask of the same line: it is parsed once."""
        if text is self._parsed_text:
            return self._parsed
        self._parsed_text = text
        self._parsed = self._parse(text)
        return self._parsed

    def _parse(self, text: str) -> tuple[str, str] | None:
        stripped = text.strip()
        for prefix in self.settings.prefixes:
            if not stripped.startswith(prefix):
                continue
            found = COMMAND.match(stripped[len(prefix) :])
            if found is None:
                return None
            name = found.group("name").lower()
            if name not in ALL_COMMANDS:
                return None
            if prefix != "#" and name in self.settings.reserved:
                return None
            return name, (found.group("args") or "").strip()
        return None

    def _apply(self, line: Line) -> list[Effect]:
        parsed = self.parse(line.text)
        state = self.state
        if state.started_at is None:
            if parsed is not None and parsed[0] == "startmeeting":
                return self._start(line, parsed[1])
            return []
        if state.ended_at is not None:
            return []
        if parsed is None:
            if URL_START.match(line.text.strip()):
                self._record("LINK", line, line.text.strip(), "")
            return []
        name, args = parsed
        if name in CHAIR_COMMANDS and not (
            line.moderator or self.is_chair(line.nick, line.account)
        ):
            if name == "endmeeting" and self._overdue(line.ts):
                return self._end(line)
            return [Reply(self._refusal(name))]
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is not None:
            effects: list[Effect] = handler(line, args)
            return effects
        kind = ITEM_COMMANDS.get(name) or CHAIR_ITEM_COMMANDS[name]
        if not args and kind == "HELP":
            bot = next((p for p in self.settings.prefixes if p != "#"), "#")
            return [
                Reply(
                    f"#{name} TEXT puts a call for help in the minutes; {bot}help meetings "
                    "lists the meeting commands."
                )
            ]
        if not args:
            return [Reply(f"#{name} needs some text.")]
        self._record(kind, line, args, name)
        return []

    # people

    def _note_person(self, line: Line) -> None:
        key = fold(line.nick)
        if line.account is not None or key not in self.accounts:
            self.accounts[key] = line.account
        self.spelling.setdefault(key, line.nick)
        names = self.aliases.setdefault(key, [])
        for extra in (line.display, _localpart(line.account)):
            if extra and fold(extra) != key and extra not in names:
                names.append(extra)
                self._alias_count += 1

    def _count(self, line: Line) -> None:
        key = fold(line.nick)
        self.said[key] = self.said.get(key, 0) + 1

    def _rename(self, old: str, new: str, account: str | None) -> None:
        old_key, new_key = fold(old), fold(new)
        self.accounts[new_key] = account if account is not None else self.accounts.get(old_key)
        self.spelling.setdefault(new_key, new)
        chairs = tuple(
            Person(new, c.account) if c.account is None and fold(c.nick) == old_key else c
            for c in self.state.chairs
        )
        owner = self.state.owner
        if owner is not None and owner.account is None and fold(owner.nick) == old_key:
            owner = Person(new, None)
        if chairs != self.state.chairs or owner != self.state.owner:
            self._set(chairs=chairs, owner=owner)

    def is_chair(self, nick: str, account: str | None) -> bool:
        return any(chair.is_same(nick, account) for chair in self.chairs)

    def chair_names(self) -> str:
        return ", ".join(chair.nick for chair in self.chairs)

    def _refusal(self, name: str) -> str:
        return f"Only the chairs ({self.chair_names()}) can use #{name}."

    def _overdue(self, ts: datetime) -> bool:
        assert self.started_at is not None
        return ts - self.started_at >= self.settings.duration

    # items

    def _record(self, kind: str, line: Line, text: str, command: str) -> Item:
        item = Item(kind, line.nick, text, line.ts, line.seq, command)
        self._set(items=self.state.items.plus(item))
        self.item_of[line.seq] = item
        self._noted.append(Recorded(item))
        return item

    def _edit(self, line: Line) -> list[Effect]:
        target = line.target_id
        if target is None or target in self.redacted:
            return []
        self.texts[target] = line.text
        effects: list[Effect] = []
        parsed = self.parse(line.text)
        for seq in self.seqs(target):
            item = self.item_of.get(seq)
            if item is None:
                continue
            text = (parsed[1] or item.text) if parsed is not None else line.text.strip()
            revised = replace(item, text=text)
            self._set(items=Appended([revised if i is item else i for i in self.state.items]))
            self.item_of[seq] = revised
            effects.append(Revised(revised))
        return effects

    def _redact(self, line: Line) -> list[Effect]:
        """A redacted line leaves ``[message removed]`` in the log, and its item (if it made
        one) leaves the minutes altogether."""
        target = line.target_id
        if target is None:
            return []
        self.redacted.add(target)
        effects: list[Effect] = []
        for seq in self.seqs(target):
            item = self.item_of.pop(seq, None)
            if item is None or item not in self.state.items:
                continue
            self._set(items=Appended([i for i in self.state.items if i is not item]))
            effects.append(Revised(item, redacted=True))
            if item.kind == "TOPIC":
                self._topic_after_removal()
        return effects

    def _topic_after_removal(self) -> None:
        topics = self.topics()
        self._set(current_topic=topics[-1] if topics else "")

    def seqs(self, msg_id: str) -> list[int]:
        """The log lines that carry ``msg_id`` (several for a multi-line Matrix message)."""
        first = self.seqs_of.get(msg_id)
        return [] if first is None else [first, *self._more_seqs.get(msg_id, ())]

    def said_now(self, upto: int | None = None) -> list[tuple[Line, str]]:
        """Every log line (the first ``upto``) with what it says now: a snapshot the logs are
        rendered from, away from the lines still coming."""
        return [(line, self.text_of(line)) for line in self.lines[:upto]]

    def text_of(self, line: Line) -> str:
        """What a log line says now: its latest edit, or the redaction marker."""
        if line.msg_id is None:
            return line.text
        if line.msg_id in self.redacted:
            return REDACTED
        return self.texts.get(line.msg_id, line.text)

    # commands anyone may use

    def _start(self, line: Line, args: str) -> list[Effect]:
        owner = Person(line.nick, line.account)
        self._set(started_at=line.ts, owner=owner, chairs=(owner,))
        if args:
            self._set(name=sanitise_name(args), meeting_topic=args)
        return [
            Reply(
                f"Meeting started {asctime(line.ts)} UTC and is due to finish in "
                f"{int(self.settings.duration.total_seconds() // 60)} minutes.  "
                f"The chair is {line.nick}. {MEETBOT_INFO}"
            ),
            Reply(USEFUL),
            Reply(f"The meeting name has been set to '{self.name}'"),
        ]

    def _cmd_startmeeting(self, line: Line, args: str) -> list[Effect]:
        assert self.started_at is not None
        return [
            Reply(
                f"A meeting is already running here: '{self.name}', chaired by "
                f"{self.chair_names()} since {self.started_at:%H:%M:%S} UTC."
            )
        ]

    def _cmd_nick(self, line: Line, args: str) -> list[Effect]:
        nicks = nick_list(args)
        if not nicks:
            return [Reply("#nick needs one or more nicks.")]
        for nick in nicks:
            self._name_attendee(nick)
        return [Reply(f"Current nicks for action items: {', '.join(self.people())}")]

    def _cmd_here(self, line: Line, args: str) -> list[Effect]:
        key = fold(line.nick)
        self._name_attendee(line.nick)
        names = nick_list(args)
        alias = names[0] if names else ""
        if alias and fold(alias) != key and alias not in self.aliases.setdefault(key, []):
            self.aliases[key].append(alias)
            self._alias_count += 1
        return []

    def _name_attendee(self, nick: str) -> None:
        if fold(nick) not in {fold(n) for n in self.state.extra_nicks}:
            self._set(extra_nicks=(*self.state.extra_nicks, nick))

    def _cmd_vote(self, line: Line, args: str) -> list[Effect]:
        vote = self.open_vote
        if vote is None:
            return [Reply("There is no vote open; a chair can open one with #startvote.")]
        choice = next((o for o in vote.options if fold(o) == fold(args.strip())), None)
        if choice is None:
            return [
                Reply(
                    f"{args.strip() or 'That'} is not a valid option. Valid options are {', '.join(vote.options)}."
                )
            ]
        self._replace_vote(vote.cast(line.nick, choice))
        return []

    def _cmd_showvote(self, line: Line, args: str) -> list[Effect]:
        vote = self.open_vote
        if vote is None:
            return [Reply("There is no vote open.")]
        return [Reply(f"{vote.question} {_tally(vote)}")]

    def _cmd_commands(self, line: Line, args: str) -> list[Effect]:
        names = sorted(ALL_COMMANDS)
        return [Reply("Available commands: " + " ".join(f"#{n}" for n in names))]

    def _cmd_actions(self, line: Line, args: str) -> list[Effect]:
        actions = [item for item in self.items if item.kind == "ACTION"]
        if not actions:
            return [Reply("No action items yet.")]
        listed = "; ".join(f"({i}) {a.text}" for i, a in enumerate(actions, 1))
        owners = dict.fromkeys(nick for a in actions for nick in self.owners(a))
        return [Reply(f"Action items so far: {listed}", tuple(owners))]

    # chair commands

    def _cmd_endmeeting(self, line: Line, args: str) -> list[Effect]:
        return self._end(line)

    def _end(self, line: Line) -> list[Effect]:
        self._set(ended_at=line.ts)
        effects: list[Effect] = [
            Reply(f"Meeting ended {asctime(line.ts)} UTC.  {MEETBOT_INFO} (v opsbot)")
        ]
        width = max((len(label) for label, _ in self.settings.links), default=0) + 1
        assert self.started_at is not None
        path = basename(self.name, self.started_at, self.settings.pattern)
        for label, url in self.settings.links:
            effects.append(Reply(f"{label + ':':<{width}} {url.replace('{path}', path)}"))
        effects.append(Ended())
        return effects

    def _cmd_topic(self, line: Line, args: str) -> list[Effect]:
        if not args:
            return [Reply("#topic needs a title.")]
        said: list[Effect] = []
        if args.lower() == "next" and self.agenda:
            if self.agenda_done >= len(self.agenda):
                return [Reply("That was the last agenda item; #topic TITLE sets any other.")]
            args = self.agenda[self.agenda_done]
            self._set(agenda_done=self.agenda_done + 1)
            said.append(Reply(f"Agenda item {self.agenda_done} of {len(self.agenda)}: {args}"))
        self._record("TOPIC", line, args, "topic")
        self._set(current_topic=args)
        return [SetTopic(self.channel_topic()), *said]

    def channel_topic(self) -> str:
        if self.meeting_topic and self.current_topic:
            return f"{self.meeting_topic} (Meeting topic: {self.current_topic})"
        return self.current_topic or self.meeting_topic

    def _cmd_meetingtopic(self, line: Line, args: str) -> list[Effect]:
        self._set(meeting_topic=args)
        return [SetTopic(self.channel_topic())]

    def _cmd_meetingname(self, line: Line, args: str) -> list[Effect]:
        if not args:
            return [Reply("#meetingname needs a name.")]
        self._set(name=sanitise_name(args))
        return [Reply(f"The meeting name has been set to '{self.name}'")]

    def _cmd_chair(self, line: Line, args: str) -> list[Effect]:
        for nick in nick_list(args):
            person = Person(nick, self.accounts.get(fold(nick)))
            if not self.is_chair(person.nick, person.account):
                self._set(chairs=(*self.state.chairs, person))
        return [Reply(f"Current chairs: {self.chair_names()}")]

    def _cmd_unchair(self, line: Line, args: str) -> list[Effect]:
        effects: list[Effect] = []
        assert self.owner is not None
        for nick in nick_list(args):
            if fold(nick) == fold(self.owner.nick):
                effects.append(Reply(f"The owner ({self.owner.nick}) cannot be unchaired."))
                continue
            self._set(chairs=tuple(c for c in self.state.chairs if fold(c.nick) != fold(nick)))
        effects.append(Reply(f"Current chairs: {self.chair_names()}"))
        return effects

    def _cmd_undo(self, line: Line, args: str) -> list[Effect]:
        if not self.items:
            return [Reply("There is nothing to undo.")]
        item = self.state.items[-1]
        self._set(items=self.state.items[:-1])
        self.item_of.pop(item.seq, None)
        self._noted.append(Undone(item))
        if item.kind == "TOPIC":
            self._topic_after_removal()
        return [Reply(f"Removing item from minutes: {item.kind} {item.text}")]

    def _cmd_save(self, line: Line, args: str) -> list[Effect]:
        return [Save(), Reply("Saved the minutes so far.")]

    def _cmd_startvote(self, line: Line, args: str) -> list[Effect]:
        if self.open_vote is not None:
            return [
                Reply(
                    f"A vote is already open: {self.open_vote.question} Close it with #endvote first."
                )
            ]
        if not args:
            return [Reply("#startvote needs a question, e.g. #startvote Ship it? Yes, No")]
        question, mark, rest = args.rpartition("?")
        if mark:
            question += "?"
            options = [o.strip() for o in re.split(r"[,/]", rest) if o.strip()]
        else:
            question, options = args, []
        options = list(dict.fromkeys(options)) or ["Yes", "No"]
        vote = Vote(question.strip(), tuple(options), line.nick, line.ts)
        self._set(votes=(*self.state.votes, vote))
        return [
            Reply(
                f"Begin voting on: {question.strip()} Valid vote options are {', '.join(options)}."
            ),
            Reply("Vote using '#vote OPTION'. Only your last vote counts."),
        ]

    def _cmd_endvote(self, line: Line, args: str) -> list[Effect]:
        vote = self.open_vote
        if vote is None or vote.is_motion:
            return [
                Reply(
                    "There is no vote open to end." + (" Use #close for a motion." if vote else "")
                )
            ]
        vote = replace(vote, closed=True)
        self._replace_vote(vote)
        self._record("VOTE", line, vote.result(), "endvote")
        return [Reply(vote.heading()), Reply(_tally(vote))]

    def _cmd_motion(self, line: Line, args: str) -> list[Effect]:
        if self.open_vote is not None:
            return [Reply(f"A vote is already open: {self.open_vote.question} Close it first.")]
        if not args:
            return [Reply("#motion needs the text of the motion.")]
        motion = Vote(args, ("+1", "0", "-1"), line.nick, line.ts, is_motion=True)
        self._set(votes=(*self.state.votes, motion))
        return [
            Reply(
                f"Motion: {args} — vote with #vote +1, #vote 0 or #vote -1; a chair ends it with #close."
            )
        ]

    def _cmd_close(self, line: Line, args: str) -> list[Effect]:
        vote = self.open_vote
        if vote is None or not vote.is_motion:
            return [Reply("There is no motion open to close.")]
        vote = replace(vote, closed=True)
        self._replace_vote(vote)
        counts = vote.counts()
        carried = len(counts["+1"]) > len(counts["-1"])
        outcome = "carried" if carried else "failed"
        text = f"Motion {outcome}: {vote.question} ({vote.summary()})"
        self._record("MOTION", line, text, "close")
        return [Reply(text)]

    def _cmd_lurk(self, line: Line, args: str) -> list[Effect]:
        self._set(lurking=True)
        return []

    def _cmd_unlurk(self, line: Line, args: str) -> list[Effect]:
        self._set(lurking=False)
        return [Reply("No longer lurking.")]

    def _cmd_restrictlogs(self, line: Line, args: str) -> list[Effect]:
        self._set(restricted=True)
        return [Reply("The logs of this meeting will not be published.")]

    # derived views for the outputs

    def _version(self) -> tuple[int, int, int]:
        """Changes whenever the attendees or their names do (all three only ever grow)."""
        return len(self.said), len(self.extra_nicks), self._alias_count

    def people(self) -> list[str]:
        """Every attendee nick: people who said something, and those named with #nick/#here."""
        if self._people_key != self._version():
            seen = {fold(n): n for n in (self.spelling[k] for k in self.said)}
            for nick in self.extra_nicks:
                seen.setdefault(fold(nick), nick)
            self._people, self._people_key = list(seen.values()), self._version()
        return self._people

    def people_present(self) -> list[tuple[str, int]]:
        """``(nick, lines said)``, most lines first, as MeetBot lists them."""
        counts = [(self.spelling.get(k, k), n) for k, n in self.said.items()]
        for nick in self.extra_nicks:
            if fold(nick) not in self.said:
                counts.append((nick, 0))
        return sorted(counts, key=lambda p: (-p[1], fold(p[0])))

    def owners(self, item: Item) -> list[str]:
        """Attendees whose nick, alias, display name or localpart is a whole word of the text,
        in attendee order."""
        people = self.people()
        key = self._version()
        if self._owner_key != key:
            self._owners.clear()
            names = {
                fold(name): nick
                for nick in people
                for name in (nick, *self.aliases.get(fold(nick), []))
            }
            alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            self._owner_pattern = (
                re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if names else None
            )
            self._owner_names, self._owner_key = names, key
        if self._owner_pattern is None:
            return []
        cached = self._owners.get((item.seq, item.text))
        if cached is None:
            found = {
                self._owner_names[fold(m.group(0))] for m in self._owner_pattern.finditer(item.text)
            }
            cached = self._owners[(item.seq, item.text)] = [
                nick for nick in people if nick in found
            ]
        return list(cached)

    def actions(self) -> list[Item]:
        return [item for item in self.items if item.kind == "ACTION"]

    def actions_by_person(self) -> tuple[dict[str, list[Item]], list[Item]]:
        """Actions per owner (owners in name order), and those nobody owns."""
        by_person: dict[str, list[Item]] = {}
        unassigned = []
        for item in self.actions():
            owners = self.owners(item)
            if not owners:
                unassigned.append(item)
            for owner in owners:
                by_person.setdefault(owner, []).append(item)
        return dict(sorted(by_person.items(), key=lambda kv: fold(kv[0]))), unassigned

    def topics(self) -> list[str]:
        return [item.text for item in self.items if item.kind == "TOPIC"]


def _tally(vote: Vote) -> str:
    return "; ".join(
        f"{option} ({len(voters)}): {', '.join(voters) or '-'}"
        for option, voters in vote.counts().items()
    )


def _localpart(account: str | None) -> str | None:
    if account and account.startswith("@") and ":" in account:
        return account[1:].split(":", 1)[0]
    return None


def replay(
    lines: Iterable[Line], network: str, channel: str, settings: Settings | None = None
) -> Meeting:
    """Fold a whole log; lines before ``#startmeeting`` are not part of the meeting, lines after
    ``#endmeeting`` (the bot's closing answers) stay in its log."""
    meeting = Meeting(network, channel, settings)
    feed = meeting.feed
    for line in lines:
        if meeting.state.started_at is None:
            parsed = meeting.parse(line.text) if line.kind == "message" else None
            if parsed is None or parsed[0] != "startmeeting":
                continue
        feed(line)
    return meeting
