"""What every part of the IRC transport shares: the connection's state, declared once for the
parts (connecting, login, members, pacing, event conversion) that each keep one job."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import irc.client

from ...config import IrcNetwork
from ...events import Identity, Room
from ..base import Capabilities, EventSink
from .bucket import TokenBucket
from .client import _Connection, _Reactor

if TYPE_CHECKING:
    from collections.abc import Coroutine


@dataclass(slots=True)
class Member:
    nick: str
    account: str | None = None
    modes: set[str] = field(default_factory=set)
    realname: str | None = None


class IrcState:
    name: str
    config: IrcNetwork
    nicks: list[str]
    nick: str
    account: str | None
    caps: set[str]
    capabilities: Capabilities
    registered: asyncio.Event
    sasl_result: str | None
    _sink: EventSink | None
    _reactor: _Reactor | None
    _conn: _Connection | None
    _inbox: asyncio.Queue[irc.client.Event | None]
    _outbox: asyncio.Queue[str]
    _bucket: TokenBucket
    _members: dict[str, dict[str, Member]]
    _rooms: dict[str, Room]
    _pending_joins: dict[str, asyncio.Future[Room]]
    _offered: dict[str, str]
    _nick_index: int
    _last_seen: float
    _stopping: bool
    _closed: asyncio.Event
    _host_estimate: int
    _in_flight: bool
    _busy: bool
    _paused: bool

    if TYPE_CHECKING:

        @property
        def me(self) -> Identity: ...

        def _raw(self, line: str) -> None: ...

        def _enqueue(self, line: str) -> None: ...

        async def _publish(self, event: Any) -> None: ...

        def _spawn(self, work: Coroutine[Any, Any, None]) -> None: ...

        def _identity(self, nick: str, tags: list[dict[str, Any]] | None = None) -> Identity: ...

        def _room(self, channel: str) -> Room: ...

        def _find(self, nick: str) -> Member | None: ...

        async def join(self, room_id: str, key: str | None = None) -> Room: ...

        def _regain(self) -> None: ...
