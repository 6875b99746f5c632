"""What a plugin declares: the decorators that carry a handler's rules, and the rules themselves.

A handler's rules (its command name, the role it needs, its rate limit, ...) are data attached to
the function, so the router, ``!help``, the scheduler and the tests can all read them. This module
knows nothing of the running bot: it is imported by plugins, the router and the scheduler alike.

A command may be a subcommand: ``@command("kudos top")`` is ``!kudos top ARGS``, with its own
usage, role and help; ``!kudos`` alone (or with an unknown word) runs ``@command("kudos")`` if the
plugin has one, and otherwise is answered with the subcommands there are.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NewType, TypeVar

from .events import DomainEvent, Event, Role

Rest = NewType("Rest", str)
"""Annotate the last command parameter with Rest to receive the rest of the line, unparsed."""

Handler = Callable[..., Awaitable[None]]
F = TypeVar("F", bound=Handler)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    """The full name: ``help``, or ``kudos top`` for a subcommand."""
    aliases: tuple[str, ...] = ()
    """Other names of the same depth (a subcommand's aliases are subcommand words)."""
    usage: str | None = None
    help: str = ""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def parent(self) -> str | None:
        """The command a subcommand belongs to (``kudos`` of ``kudos top``), else None."""
        words = self.words
        return words[0] if len(words) > 1 else None

    def names(self) -> tuple[str, ...]:
        """The name and every alias, full (``kudos top``, ``kudos best``)."""
        parent = self.parent
        return (self.name, *((f"{parent} {a}" if parent else a) for a in self.aliases))


@dataclass(frozen=True, slots=True)
class RateSpec:
    """Seconds that must pass between two uses: by one person, in one room, anywhere."""

    user: float = 0
    room: float = 0
    everywhere: float = 0


@dataclass(slots=True)
class Rules:
    """Everything the decorators said about one handler."""

    command: CommandSpec | None = None
    on: list[type[Event]] = field(default_factory=list)
    match: list[re.Pattern[str]] = field(default_factory=list)
    own_messages: bool = False
    role: Role = Role.NONE
    refusal: str | None = None
    """What the router answers someone below ``role`` (else "!cmd needs ROLE rights here.")."""
    account: bool = False
    rate: RateSpec | None = None
    cron: list[dict[str, Any]] = field(default_factory=list)
    interval: list[dict[str, Any]] = field(default_factory=list)
    subscribe: list[type[DomainEvent]] = field(default_factory=list)

    @property
    def is_passive(self) -> bool:
        return bool(self.on or self.match)


RULES_ATTR = "__opsbot_rules__"


def rules_of(fn: object) -> Rules | None:
    """The rules decorators attached to ``fn``, or None for a plain method."""
    rules = getattr(fn, RULES_ATTR, None)
    return rules if isinstance(rules, Rules) else None


def handlers_of(plugin: object) -> Iterator[tuple[Handler, Rules]]:
    """Each decorated method of ``plugin``, bound, with its rules."""
    for attr in dir(type(plugin)):
        rules = rules_of(getattr(type(plugin), attr, None))
        if rules is not None:
            yield getattr(plugin, attr), rules


def _rules(fn: Callable[..., Any]) -> Rules:
    rules = rules_of(fn)
    if rules is None:
        rules = Rules()
        setattr(fn, RULES_ATTR, rules)
    return rules


_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def command(
    name: str,
    *,
    aliases: tuple[str, ...] | list[str] = (),
    usage: str | None = None,
    help: str = "",
) -> Callable[[F], F]:
    """Make the handler a command: ``!name ARGS``, or ``!parent name ARGS`` for a subcommand
    named ``"parent name"``. Parameters after ``ctx`` are parsed from ARGS."""
    words = name.split()
    if not 1 <= len(words) <= 2 or " ".join(words) != name:
        raise ValueError(f"invalid command name {name!r}: a word, or a command and a subcommand")
    for word in (name, *aliases):
        if not all(_COMMAND_NAME.match(part) for part in word.split(" ")):
            raise ValueError(f"invalid command name {word!r}: lower case letters, digits, - and _")

    def mark(fn: F) -> F:
        _rules(fn).command = CommandSpec(name, tuple(aliases), usage, help)
        return fn

    return mark


def on(*event_types: type[Event], own: bool = False) -> Callable[[F], F]:
    """Run the handler for every event of these types (passive: it runs beside any command).

    ``own=True`` also delivers the bot's own messages, so a log can record what the bot said.
    """

    def mark(fn: F) -> F:
        rules = _rules(fn)
        rules.on.extend(event_types)
        rules.own_messages = rules.own_messages or own
        return fn

    return mark


def match(pattern: str, flags: int = 0) -> Callable[[F], F]:
    """Run the handler for every message the regex matches (``search``); named groups become
    keyword arguments."""
    compiled = re.compile(pattern, flags)

    def mark(fn: F) -> F:
        _rules(fn).match.append(compiled)
        return fn

    return mark


def require(role: Role, *, refusal: str | None = None) -> Callable[[F], F]:
    """Only people with at least ``role`` in the room (or bot admins) may run this; others
    are told ``refusal`` (by default, which rights it needs)."""

    def mark(fn: F) -> F:
        rules = _rules(fn)
        rules.role, rules.refusal = role, refusal
        return fn

    return mark


def require_account(fn: F) -> F:
    """Only people whose account the network proves may run this."""
    _rules(fn).account = True
    return fn


def rate(*, user: float = 0, room: float = 0, everywhere: float = 0) -> Callable[[F], F]:
    """Seconds between two uses, per person, per room and overall; bot admins are exempt."""

    def mark(fn: F) -> F:
        _rules(fn).rate = RateSpec(user, room, everywhere)
        return fn

    return mark


def cron(**fields: Any) -> Callable[[F], F]:
    """Run the method on a schedule (APScheduler CronTrigger fields, in the bot's time zone)."""

    def mark(fn: F) -> F:
        _rules(fn).cron.append(fields)
        return fn

    return mark


def interval(**fields: Any) -> Callable[[F], F]:
    """Run the method every so often (APScheduler IntervalTrigger fields: seconds=, minutes=...)."""

    def mark(fn: F) -> F:
        _rules(fn).interval.append(fields)
        return fn

    return mark


def subscribe(*event_types: type[DomainEvent]) -> Callable[[F], F]:
    """Receive other plugins' domain events of these types (the only way plugins meet)."""

    def mark(fn: F) -> F:
        _rules(fn).subscribe.extend(event_types)
        return fn

    return mark


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """A command as ``!help`` describes it."""

    plugin: str
    rules: Rules
    usage: str

    @property
    def name(self) -> str:
        assert self.rules.command is not None
        return self.rules.command.name
