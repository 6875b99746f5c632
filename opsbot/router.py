"""Routing events to plugin handlers: passive handlers, then at most one command per message.

Every passive handler whose rule matches runs (a meeting log must see every line), in the order
plugins were loaded; then, if the message is a command (``!name``, ``botnick: name``, or a bare
``name`` in a direct chat), that command runs after its permission and rate checks. A command
with subcommands (``!kudos top``) runs the subcommand its next word names, each with its own
usage, role and rate. Whatever a handler raises is logged with the event and answered with one
short line; the bot lives on.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arguments import ArgumentError, Param, bind, signature_params, usage_of
from .config import ConfigError
from .context import HANDLING, Context
from .events import Event, Message, Role, RoomEvent
from .health import is_unreachable, short
from .plugin import Plugin
from .rules import CommandInfo, Handler, Rules, handlers_of

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("opsbot.router")

RATE_TABLE_LIMIT = 10_000
_COMMAND_WORD = re.compile(r"([A-Za-z][\w-]*)(?:\s+|$)")


@dataclass(slots=True)
class BoundHandler:
    plugin: Plugin
    fn: Handler
    rules: Rules
    params: list[Param] = field(default_factory=list)
    info: CommandInfo | None = None
    """How help describes it (made once)."""

    @property
    def qualname(self) -> str:
        return f"{self.plugin.name}.{self.fn.__name__}"

    @property
    def usage(self) -> str:
        spec = self.rules.command
        assert spec is not None
        return spec.usage if spec.usage is not None else usage_of(self.params)


class Router:
    def __init__(self, services: Services, *, reply_unknown: bool = True) -> None:
        self.services = services
        self.reply_unknown = reply_unknown
        self.timed: Callable[[str, float], None] | None = None
        """Told each command's name and how long it took (the bot's metrics)."""
        self.commands: dict[str, BoundHandler] = {}
        """Every command name and alias, lower case, to its handler (``kudos top`` for a
        subcommand)."""
        self.subcommands: dict[str, list[BoundHandler]] = {}
        """A command's subcommands, by the command's name."""
        self._on: list[tuple[type[Event], BoundHandler]] = []
        self._matchers: list[tuple[re.Pattern[str], BoundHandler]] = []
        self._on_cache: dict[type[Event], tuple[BoundHandler, ...]] = {}
        self._last_use: dict[tuple[str, Any], float] = {}
        self._rate_windows: dict[str, float] = {}

    # registration

    def register(self, plugin: Plugin) -> None:
        """Add the handlers of ``plugin``; raises ConfigError when two plugins claim one command
        name, TypeError for a handler parameter of a type that has no converter."""
        for fn, rules in handlers_of(plugin):
            bound = BoundHandler(plugin, fn, rules)
            if rules.command is not None or rules.match:
                bound.params = signature_params(bound.fn)
            if rules.command is not None:
                for word in rules.command.names():
                    other = self.commands.get(word)
                    if other is not None:
                        raise ConfigError(
                            [
                                (
                                    "plugins.enabled",
                                    f"command {word!r} is claimed by {other.qualname} and {bound.qualname}",
                                )
                            ]
                        )
                    self.commands[word] = bound
                parent = rules.command.parent
                if parent is not None:
                    self.subcommands.setdefault(parent, []).append(bound)
            for event_type in rules.on:
                self._on.append((event_type, bound))
            for pattern in rules.match:
                self._matchers.append((pattern, bound))
        self._on_cache.clear()

    def handlers(self) -> list[BoundHandler]:
        """Each command handler once, in name order (for help)."""
        unique = {id(h): h for h in self.commands.values()}
        return sorted(
            unique.values(), key=lambda h: h.rules.command.name if h.rules.command else ""
        )

    def info(self, handler: BoundHandler) -> CommandInfo:
        if handler.info is None:
            handler.info = CommandInfo(handler.plugin.name, handler.rules, handler.usage)
        return handler.info

    def _on_handlers(self, event_type: type[Event]) -> tuple[BoundHandler, ...]:
        found = self._on_cache.get(event_type)
        if found is None:
            found = tuple(h for t, h in self._on if issubclass(event_type, t))
            self._on_cache[event_type] = found
        return found

    # dispatch

    async def dispatch(self, event: Event) -> None:
        token = HANDLING.set((event, asyncio.current_task()))
        try:
            await self._dispatch(event)
        finally:
            HANDLING.reset(token)

    async def _dispatch(self, event: Event) -> None:
        own = isinstance(event, Message) and event.own
        apologised = claimed = False
        for handler in self._on_handlers(type(event)):
            if own and not handler.rules.own_messages:
                continue
            ctx = Context(self.services, handler.plugin, event)
            if await self._refusal(handler, ctx) is None:
                apologised |= await self._call(handler, ctx, (), {}, apologised)
                claimed |= ctx.claimed
        if not isinstance(event, Message) or own:
            return
        for pattern, handler in self._matchers:
            found = pattern.search(event.text)
            if found is None:
                continue
            ctx = Context(self.services, handler.plugin, event, groups=found.groupdict())
            kwargs = self._match_kwargs(handler, ctx, found.groupdict())
            if kwargs is None:
                continue
            refusal = await self._refusal(handler, ctx)
            if refusal is not None:
                await self._say(ctx, refusal)
                continue
            apologised |= await self._call(handler, ctx, (), kwargs, apologised)
            claimed |= ctx.claimed
        if claimed:
            return
        parsed = self.parse_command(event)
        if parsed is not None:
            await self._run_command(event, *parsed)

    def parse_command(self, msg: Message) -> tuple[str, str] | None:
        """``(name, argument text)`` if the message addresses the bot with a command; the
        name is a subcommand's full name (``kudos top``) when its next word names one."""
        if msg.is_notice or msg.is_action:
            return None
        text = msg.text.lstrip()
        prefix = self.services.prefix_for(msg.network)
        if text.startswith(prefix):
            body = text[len(prefix) :]
        else:
            # Addressed as ``botnick: cmd`` or ``botnick, cmd``: the first ':' or ',' ends the
            # nick (no nick holds either), so most chatter needs no look at the bot's nick.
            colon, comma = text.find(":"), text.find(",")
            cut = comma if colon < 0 or 0 <= comma < colon else colon
            if cut > 0 and text[:cut].casefold() == self.services.me(msg.network).nick.casefold():
                body = text[cut + 1 :].lstrip()
            elif msg.room.is_direct:
                body = text
            else:
                return None
        found = _COMMAND_WORD.match(body)
        if found is None:
            return None
        name, args = found.group(1).lower(), body[found.end() :]
        if name in self.subcommands:
            sub = _COMMAND_WORD.match(args)
            if sub is not None and f"{name} {sub.group(1).lower()}" in self.commands:
                return f"{name} {sub.group(1).lower()}", args[sub.end() :]
        return name, args

    async def _run_command(self, msg: Message, name: str, args: str) -> None:
        handler = self.commands.get(name)
        if handler is None:
            if name in self.subcommands:
                await self.services.send(msg.room, self.subcommand_hint(name, msg), reply_to=msg)
            elif self.reply_unknown:
                await self.services.send(
                    msg.room, self.unknown_command_hint(name, msg.network), reply_to=msg
                )
            return
        ctx = Context(self.services, handler.plugin, msg, command=name)
        refusal = await self._refusal(handler, ctx)
        if refusal is not None:
            await self._say(ctx, refusal)
            return
        try:
            values = bind(ctx, handler.params, args)
        except ArgumentError as why:
            prefix = self.services.prefix_for(msg.network)
            await self._say(ctx, f"{why}. Usage: {prefix}{name} {handler.usage}".rstrip())
            return
        self._note_use(handler, ctx)
        await self._call(handler, ctx, values, {}, False)

    def subcommand_hint(self, name: str, msg: Message) -> str:
        """What a command that has only subcommands says when none is named."""
        prefix = self.services.prefix_for(msg.network)
        words = sorted(h.rules.command.words[1] for h in self.subcommands[name] if h.rules.command)
        return (
            f"{prefix}{name} takes one of: {', '.join(words)}. "
            f"Say {prefix}help {name} for what each does."
        )

    def unknown_command_hint(self, name: str, network: str) -> str:
        prefix = self.services.prefix_for(network)
        close = difflib.get_close_matches(name, self.commands, n=1, cutoff=0.75)
        maybe = f" Did you mean {prefix}{close[0]}?" if close else ""
        return f"Unknown command {prefix}{name}.{maybe} Try {prefix}help for the list."

    def _match_kwargs(
        self, handler: BoundHandler, ctx: Context, groups: dict[str, str | None]
    ) -> dict[str, Any] | None:
        """Named groups converted by the handler's annotations; None if one does not convert
        (``C++`` names nobody, so the handler does not run)."""
        kwargs: dict[str, Any] = {}
        for param in handler.params:
            if param.name not in groups:
                continue
            value = groups[param.name]
            try:
                kwargs[param.name] = None if value is None else param.convert(ctx, value)
            except ArgumentError:
                return None
        return kwargs

    # checks

    async def _refusal(self, handler: BoundHandler, ctx: Context) -> str | None:
        """Why ``ctx``'s sender may not run ``handler`` now, or None if they may."""
        rules = handler.rules
        if not (rules.account or rules.role or rules.rate):
            return None
        if not isinstance(ctx.event, Message):
            return None
        sender = ctx.event.sender
        what = self._what(handler, ctx)
        if rules.account and sender.account is None:
            return f"{what} needs you to be identified to an account on {ctx.network}."
        if rules.role or rules.rate:
            role = await self.services.role_of(ctx.event.room, sender)
            if role < rules.role:
                return rules.refusal or f"{what} needs {rules.role.label} rights here."
            if rules.rate and role < Role.BOT_ADMIN:
                wait = self._rate_wait(handler, ctx)
                if wait > 0:
                    return f"Please wait {wait:.0f} s before using {what} again."
        return None

    def _what(self, handler: BoundHandler, ctx: Context) -> str:
        return f"{ctx.prefix}{ctx.command}" if ctx.command else handler.qualname

    def _rate_keys(
        self, handler: BoundHandler, ctx: Context
    ) -> list[tuple[tuple[str, Any], float]]:
        spec = handler.rules.rate
        assert spec is not None
        msg = ctx.msg
        person = msg.sender.handle
        keys: list[tuple[tuple[str, Any], float]] = [
            ((handler.qualname, ("user", person)), spec.user)
        ]
        keys.append(((handler.qualname, ("room", msg.room.key)), spec.room))
        keys.append(((handler.qualname, "everywhere"), spec.everywhere))
        return [(key, seconds) for key, seconds in keys if seconds > 0]

    def _rate_wait(self, handler: BoundHandler, ctx: Context) -> float:
        now = time.monotonic()
        waits = [
            self._last_use.get(key, -1e18) + seconds - now
            for key, seconds in self._rate_keys(handler, ctx)
        ]
        return max(waits, default=0.0)

    def _note_use(self, handler: BoundHandler, ctx: Context) -> None:
        if handler.rules.rate is None:
            return
        now = time.monotonic()
        for key, seconds in self._rate_keys(handler, ctx):
            self._last_use[key] = now
            self._rate_windows[key[0]] = max(self._rate_windows.get(key[0], 0.0), seconds)
        if len(self._last_use) > RATE_TABLE_LIMIT:
            self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        """Drop uses whose window has passed, so a busy network does not grow the table forever."""
        self._last_use = {
            key: used
            for key, used in self._last_use.items()
            if used + self._rate_windows.get(key[0], 0.0) > now
        }

    # calling

    async def _call(
        self,
        handler: BoundHandler,
        ctx: Context,
        args: list[Any] | tuple[()],
        kwargs: dict[str, Any],
        apologised: bool,
    ) -> bool:
        """Run one handler; True if it failed and an apology was sent to the room."""
        started = time.perf_counter()
        try:
            await handler.fn(ctx, *args, **kwargs)
        except Exception as error:
            if is_unreachable(error):
                # Not a bug: the database is away. One line each, no traceback per command.
                log.warning("%s: the database is unreachable (%s)", handler.qualname, short(error))
                if isinstance(ctx.event, Message) and not apologised:
                    needs = f", and {self._what(handler, ctx)} needs it" if ctx.command else ""
                    await self._say(
                        ctx,
                        f"The database is unreachable just now{needs}; try again once it is back.",
                    )
                    return True
                return False
            ref = secrets.token_hex(3)
            log.exception("[%s] %s failed on %r", ref, handler.qualname, ctx.event)
            if isinstance(ctx.event, Message) and not apologised:
                await self._say(
                    ctx, f"Sorry, {self._what(handler, ctx)} failed (logged as error {ref})."
                )
                return True
        finally:
            if ctx.command and self.timed is not None:
                self.timed(ctx.command, time.perf_counter() - started)
        return False

    async def _say(self, ctx: Context, text: str) -> None:
        """Answer without ever raising: an answer that cannot be sent is logged."""
        if not isinstance(ctx.event, RoomEvent):
            return
        try:
            reply_to = ctx.event if isinstance(ctx.event, Message) else None
            await self.services.send(ctx.event.room, text, reply_to=reply_to)
        except Exception:
            log.exception("could not send %r to %s", text, ctx.event.room)
