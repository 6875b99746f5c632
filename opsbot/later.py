"""Saying things through the durable outbox (its ``say`` channel): what must reach a room or a
person even if the network is away when it is due (a meeting reminder, a follow-up to an action
item's owner, the weekly digest).

Each is stored before it is attempted, under an idempotency key (queued twice, said once),
tried again with the bot's backoff, and again at once when its network reconnects; one that
expires undelivered is told to the bot admins, if the plugin said what to tell them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from .events import Connected, Event, Identity, Room
from .outbox import Entry, Outbox

log = logging.getLogger("opsbot.later")

CHANNEL = "say"

SendRoom = Callable[..., Awaitable[str | None]]
SendPrivate = Callable[[Identity, str], Awaitable[None]]
RoomOf = Callable[[str, str], Room]
TellAdmins = Callable[[str], Awaitable[int]]


def _target(network: str, where: str) -> str:
    return f"{network}\n{where}"


class SayLater:
    def __init__(
        self,
        outbox: Outbox,
        *,
        send: SendRoom,
        send_private: SendPrivate,
        room_of: RoomOf,
        tell_admins: TellAdmins,
    ) -> None:
        self.outbox = outbox
        self._send = send
        self._send_private = send_private
        self._room_of = room_of
        self._tell_admins = tell_admins

    async def start(self) -> None:
        await self.outbox.register(CHANNEL, self._deliver, expired=self._expired)

    def say(
        self,
        room: Room,
        text: str,
        *,
        key: str,
        expires_at: datetime | None = None,
        mentions: Sequence[Identity] = (),
        notice: bool = False,
        undelivered: str | None = None,
    ) -> None:
        """Say ``text`` in ``room`` once (per ``key``), before ``expires_at``; ``undelivered``
        is what the bot admins are told if it never went (the reason is added)."""
        self.outbox.add(
            CHANNEL,
            _target(room.network, room.id),
            {
                "network": room.network, "room": room.id, "text": text, "notice": notice,
                "mentions": [[m.network, m.account, m.nick] for m in mentions],
                "undelivered": undelivered,
            },
            key=key,
            expires_at=expires_at,
        )  # fmt: skip

    def tell(
        self, who: Identity, text: str, *, key: str, expires_at: datetime | None = None
    ) -> None:
        """Say ``text`` to one person once (per ``key``), before ``expires_at``."""
        self.outbox.add(
            CHANNEL,
            _target(who.network, f">{who.nick.casefold()}"),
            {"network": who.network, "account": who.account, "nick": who.nick, "text": text,
             "private": True},
            key=key,
            expires_at=expires_at,
        )  # fmt: skip

    def network_back(self, event: Event) -> Event:
        """An inbound step: a network that (re)connects gets what waits for it at once."""
        if isinstance(event, Connected):
            network = event.network
            self.outbox.wake(CHANNEL, lambda target: target.split("\n", 1)[0] == network)
        return event

    async def _deliver(self, entries: list[Entry]) -> int:
        said = entries[0].payload
        if said.get("private"):
            who = Identity(said["network"], said["account"], said["nick"])
            await self._send_private(who, said["text"])
        else:
            mentions = [Identity(n, a, nick) for n, a, nick in said.get("mentions", [])]
            await self._send(
                self._room_of(said["network"], said["room"]),
                said["text"],
                notice=bool(said.get("notice")),
                mentions=mentions,
            )
        return 1

    async def _expired(self, entry: Entry, error: Exception) -> None:
        text = entry.payload.get("undelivered")
        log.error("never delivered to %s: %s", entry.target.replace("\n", ":"), error)
        if text:
            await self._tell_admins(f"{text}: {error}.")
