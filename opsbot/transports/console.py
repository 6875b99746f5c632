"""The console room: you type as a nick in a local room and see the bot's answers.

``/nick NAME`` switches who is speaking, ``/me TEXT`` sends an action, ``/quit`` (or end of input)
stops the bot once everything typed so far has been handled. It reads a pipe just as well, so a
transcript can be scripted: ``printf '#startmeeting\\n#endmeeting\\n' | opsbot run``.

The person at the terminal is trusted: their nick is their account, and the configured speaker
is an op of the room (others named with ``/nick`` are not).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from ..events import Connected, Identity, Message, NickChange, Role, Room
from .base import Capabilities, EventSink, Transport, TransportError

HELP = (
    "Console: type as {speaker} in {room}. Try {prefix}help and {prefix}ping.\n"
    "  /nick NAME  speak as NAME    /me TEXT  an action    /quit  stop (or Ctrl-D)"
)
_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$")


class ConsoleTransport(Transport):
    type = "console"
    capabilities = Capabilities(accounts=True)

    def __init__(
        self,
        name: str,
        *,
        speaker: str,
        room: str,
        bot_nick: str,
        bot_prefix: str = "!",
        prefix: str | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        super().__init__(name, prefix=prefix)
        self.operator = speaker
        self.speaker = speaker
        self._room = Room(name, room)
        self._me = Identity(name, bot_nick, bot_nick)
        self._help_prefix = prefix or bot_prefix
        self._stdin = stdin if stdin is not None else sys.stdin
        self._stdout = stdout if stdout is not None else sys.stdout
        self._sink: EventSink | None = None
        self._reader: asyncio.Task[None] | None = None
        self._seen: dict[str, Identity] = {}
        self._counter = 0

    @property
    def me(self) -> Identity:
        return self._me

    @property
    def speaker_identity(self) -> Identity:
        return Identity(self.name, self.speaker, self.speaker)

    async def start(self, sink: EventSink) -> None:
        loop = asyncio.get_running_loop()
        self._sink = sink
        self._finished = loop.create_future()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        interactive = self._stdin.isatty()
        if interactive:
            self._print(
                HELP.format(speaker=self.speaker, room=self._room, prefix=self._help_prefix)
            )
        thread = threading.Thread(
            target=_read_lines, args=(self._stdin, interactive, loop, lines), daemon=True
        )
        thread.start()
        await sink.publish(Connected(network=self.name, me=self.me))
        self._reader = asyncio.create_task(self._consume(lines), name="console input")

    async def _consume(self, lines: asyncio.Queue[str | None]) -> None:
        while (line := await lines.get()) is not None:
            if not await self._handle(line.rstrip("\r\n")):
                break
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    async def _handle(self, line: str) -> bool:
        """Act on one typed line; False when the person asked to quit."""
        if not line.strip():
            return True
        action = False
        if line.startswith("/") and not line.startswith("//"):
            word, _, rest = line[1:].partition(" ")
            word = word.lower()
            if word == "quit":
                return False
            if word == "nick":
                await self._change_nick(rest.strip())
                return True
            if word == "me" and rest.strip():
                action, line = True, rest.strip()
            else:
                await self._notice("* Console commands: /nick NAME, /me TEXT, /quit")
                return True
        elif line.startswith("//"):
            line = line[1:]
        assert self._sink is not None
        who = self.speaker_identity
        self._seen[who.nick.casefold()] = who
        self._counter += 1
        await self._sink.publish(
            Message(
                network=self.name,
                room=self._room,
                sender=who,
                text=line,
                id=f"console-{self._counter}",
                is_action=action,
            )
        )
        return True

    async def _change_nick(self, nick: str) -> None:
        if not _NICK.match(nick):
            await self._notice(
                f"* {nick!r} is not a valid nick (letters, digits and []\\`_^{{|}}-)"
            )
            return
        old = self.speaker_identity
        self.speaker = nick
        await self._notice(f"* You are now {nick}")
        assert self._sink is not None
        await self._sink.publish(NickChange(network=self.name, old=old, new=self.speaker_identity))

    async def _notice(self, text: str) -> None:
        """Print a console notice after the answers to earlier lines, as a transcript reads."""
        if self._sink is not None:
            await self._sink.drain()
        self._print(text)

    def _print(self, text: str) -> None:
        try:
            self._stdout.write(text + "\n")
            self._stdout.flush()
        except (OSError, ValueError):
            pass  # the terminal went away; the log still has everything

    async def stop(self) -> None:
        self._sink = None
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def send(
        self,
        room: Room,
        text: str,
        *,
        html: str | None = None,
        reply_to: Message | None = None,
        notice: bool = False,
        mentions: Sequence[Identity] = (),
    ) -> str | None:
        frame = "-{}-" if notice else "<{}>"
        for line in text.splitlines() or [""]:
            self._print(f"{frame.format(self.me.nick)} {line}")
        return None

    async def send_private(self, who: Identity, text: str) -> None:
        for line in text.splitlines():
            self._print(f"[to {who.nick}] <{self.me.nick}> {line}")

    async def role(self, room: Room, who: Identity) -> Role:
        return Role.OP if who.account == self.operator else Role.NONE

    async def join(self, room_id: str, key: str | None = None) -> Room:
        raise TransportError("the console has one room only")

    async def part(self, room: Room, reason: str | None = None) -> None:
        raise TransportError("the console has one room only")

    def rooms(self) -> list[Room]:
        return [self._room]

    def member(self, room: Room, nick: str) -> Identity | None:
        if nick.casefold() == self.me.nick.casefold():
            return self.me
        return self._seen.get(nick.casefold())


def _read_lines(
    stream: TextIO,
    interactive: bool,
    loop: asyncio.AbstractEventLoop,
    lines: asyncio.Queue[str | None],
) -> None:
    """Blocking reads in a daemon thread (stdin may be a tty, a pipe or a file)."""
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (gives input() line editing and history)

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the bot is gone
            loop.call_soon_threadsafe(lines.put_nowait, line)

    try:
        while True:
            if interactive:
                try:
                    line = input()
                except EOFError:
                    break
            else:
                line = stream.readline()
                if not line:
                    break
            put(line)
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    put(None)
