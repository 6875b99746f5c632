"""Matrix transport over matrix-nio: one account on one homeserver.

It syncs in a loop of its own and hands every room event to the bus in order. The device ID, the
sync token and the IDs of the latest events are stored in the bot's database after each sync, so
a restart resumes where it stopped: it never replays history and never runs a command twice. The
first sync ever only learns the rooms' state; history before it is skipped. A sync that comes
back ``limited`` (more happened than it carries) is completed by paging back to the last token.
Every request that fails is retried with backoff; the homeserver's rate limit is obeyed as it
asks, a bounded number of times. Replies are m.notice with Markdown rendered to HTML, threaded
to the command they answer. One job per module: :mod:`.session`, :mod:`.rooms`, :mod:`.sync`,
:mod:`.sending`; this one joins them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import nio

from ...config import MatrixNetwork
from ...events import (
    Event,
    Identity,
)
from ..base import Capabilities, EventSink, Transport, TransportError
from .ids import RecentIds, localpart
from .rooms import Rooms
from .sending import Sending
from .session import Session
from .state import KEPT_IDS, STORED_IDS
from .sync import Syncing

log = logging.getLogger("opsbot.transports.matrix")


class MatrixTransport(Syncing, Rooms, Sending, Session, Transport):
    type = "matrix"

    def __init__(self, config: MatrixNetwork) -> None:
        super().__init__(config.name, prefix=config.prefix)
        self.config = config
        self.capabilities = Capabilities(
            accounts=True,
            html=True,
            reactions=True,
            edits=True,
            threads=True,
            topic=True,
            replays=True,
        )
        self.user_id = config.user_id
        self.client: nio.AsyncClient | None = None
        self.ready = asyncio.Event()
        """Set after each first successful sync of a connection (tests wait on it)."""
        self.login_error: str | None = None
        """Why the homeserver refused the login, while it does (for the log and the tests)."""
        self.syncs = 0
        self._sink: EventSink | None = None
        self._token: str | None = None
        self._saved_token: str | None = None
        """The position last written to the database."""
        self._stored_token: str | None = None
        """The position whose syncs' events are all handled and stored (what may be saved)."""
        self._stored_ids: list[str] = []
        """The event ids seen up to ``_stored_token`` (saved with it)."""
        self._wanted: tuple[str, list[str]] | None = None
        self._save_wanted = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None
        self._seen = RecentIds(KEPT_IDS)
        self._direct: dict[str, str] = {}
        self._creators: dict[str, set[str]] = {}
        """Room creators, who outrank everyone in room versions 12 and later."""
        self._configured: set[str] = set(config.rooms)
        """The configured rooms by what config names them and, once resolved, by room ID."""
        self._aliases: dict[str, str] = {}
        """Room aliases resolved to room IDs (sending needs the ID)."""
        self._device_id: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._online = False
        self._have_state = False
        """Whether this process has the rooms' state (members, power levels, creators): a
        restart resumes from the stored token with one full-state sync to learn it again."""

    @property
    def me(self) -> Identity:
        return Identity(self.name, self.user_id, localpart(self.user_id))

    # lifecycle

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        if self.state is not None:
            stored = await self.state.load()
            self._token = self._saved_token = self._stored_token = stored.get("sync_token")
            self._device_id = stored.get("device_id")
            self._stored_ids = json.loads(stored.get("recent_ids", "[]"))
            for event_id in self._stored_ids:
                self._seen.add(event_id)
            self._direct = json.loads(stored.get("direct_rooms", "{}"))
        store: dict[str, Any] = {}
        if self.config.e2e:
            from nio.crypto import ENCRYPTION_ENABLED

            if not ENCRYPTION_ENABLED:
                raise TransportError(
                    f"{self.name}: e2e needs matrix-nio's encryption: pip install 'opsbot[e2e]'"
                )
            self.config.store_path.mkdir(parents=True, exist_ok=True)
            store = {"store_path": str(self.config.store_path)}
        self.client = nio.AsyncClient(
            self.config.homeserver,
            self.user_id,
            device_id=self._device_id,
            config=nio.AsyncClientConfig(
                max_limit_exceeded=self.config.retry.rate_limit_retries,
                max_timeouts=0,
                request_timeout=30,
                store_sync_tokens=False,
                encryption_enabled=self.config.e2e,
            ),
            **store,
        )
        self._task = asyncio.create_task(self._run(), name=f"matrix {self.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._saver is not None:
            self._saver.cancel()
            await asyncio.gather(self._saver, return_exceptions=True)
            self._saver = None
        if self._token != self._saved_token:  # the last sync's events are handled by now
            try:
                if await self._handled_for_good():
                    self._stored_token = self._token
                    self._stored_ids = self._seen.dump()[-STORED_IDS:]
                    await self._save()
            except Exception as error:  # the database away: the next start replays them
                log.warning("%s: the sync position could not be saved: %s", self.name, error)
        if self.client is not None:
            await self.client.close()
        self._sink = None

    async def _publish(self, event: Event) -> None:
        if self._sink is not None:
            await self._sink.publish(event)
