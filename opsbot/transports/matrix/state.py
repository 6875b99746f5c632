"""What every part of the Matrix transport shares, declared once for the parts (the session,
rooms and members, sync and event conversion, sending) that each keep one job."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import nio

from ...config import MatrixNetwork
from ...events import Event, Identity, Room
from ...state import State
from ..base import EventSink
from .ids import RecentIds

TIMELINE_LIMIT = 100
KEPT_IDS = 1000
"""Event IDs remembered to drop an event the homeserver sends twice."""
STORED_IDS = 200
"""Of those, the newest stored with each sync token (what a replay after a crash could bring)."""
GAP_PAGES = 100
"""At most this many pages of TIMELINE_LIMIT events are fetched to fill one sync's gap."""
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


class _Retry(Exception):
    """The homeserver cannot be used now; try again after a while."""


class MatrixState:
    name: str
    config: MatrixNetwork
    state: State | None
    user_id: str
    client: nio.AsyncClient | None
    ready: asyncio.Event
    login_error: str | None
    syncs: int
    _sink: EventSink | None
    _token: str | None
    _saved_token: str | None
    _stored_token: str | None
    _stored_ids: list[str]
    _wanted: tuple[str, list[str]] | None
    _save_wanted: asyncio.Event
    _saver: asyncio.Task[None] | None
    _seen: RecentIds
    _direct: dict[str, str]
    _creators: dict[str, set[str]]
    _configured: set[str]
    _aliases: dict[str, str]
    _device_id: str | None
    _task: asyncio.Task[None] | None
    _stopping: bool
    _online: bool
    _have_state: bool

    if TYPE_CHECKING:

        @property
        def me(self) -> Identity: ...

        async def _publish(self, event: Event) -> None: ...

        async def _request(self, what: str, call: Any) -> Any: ...

        async def _save(self) -> None: ...

        async def _handle_sync(self, response: nio.SyncResponse, *, history: bool) -> None: ...

        async def _resolve_configured(self, client: nio.AsyncClient) -> None: ...

        async def _join_configured(self) -> None: ...

        async def _invited(self, room_id: str, invite: Any) -> None: ...

        def _room_of(self, room_id: str) -> Room: ...

        def _identity(self, room_id: str, user_id: str) -> Identity: ...

        async def room_id_of(self, room: str) -> str: ...

        async def join(self, room_id: str, key: str | None = None) -> Room: ...
