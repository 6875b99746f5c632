"""The session with the homeserver: log in (keeping the device ID), sync in a loop, and after any
failure wait with the bot's one backoff (:mod:`opsbot.retry`) and resume; the sync token and
the latest event IDs are stored after each sync."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import nio

from ...events import (
    Connected,
    Disconnected,
)
from ...retry import Backoff
from .state import NETWORK_ERRORS, STORED_IDS, TIMELINE_LIMIT, MatrixState, _Retry

log = logging.getLogger("opsbot.transports.matrix")
DURABLE_SECONDS = 5.0
"""How long a sync's position waits for its events to be stored before it is kept for later."""


def _sync_filter(timeline: int) -> dict[str, Any]:
    return {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"limit": timeline},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    }


class Session(MatrixState):
    async def _run(self) -> None:
        """Log in and sync; after any failure wait (the bot's backoff) and resume."""
        backoff = Backoff(self.config.retry.min_delay, self.config.retry.max_delay)
        while not self._stopping:
            try:
                await self._session()
            except (_Retry, *NETWORK_ERRORS) as error:
                why = str(error) or type(error).__name__
                log.warning("%s: homeserver %s: %s", self.name, self.config.homeserver, why)
            if self._online:
                self._online = False
                self.ready.clear()
                await self._publish(
                    Disconnected(network=self.name, reason="homeserver unreachable")
                )
                backoff.reset()
            wait = backoff.next()
            log.info("%s: trying the homeserver again in %.1f s", self.name, wait)
            await asyncio.sleep(wait)

    async def _session(self) -> None:
        client = self.client
        assert client is not None
        if not client.access_token:
            await self._login(client)
        await self._resolve_configured(client)
        while not self._stopping:
            first_ever = self._token is None
            response = await client.sync(
                timeout=0 if not self._have_state else int(self.config.sync_timeout * 1000),
                sync_filter=_sync_filter(1 if first_ever else TIMELINE_LIMIT),
                since=self._token,
                full_state=not self._have_state and not first_ever,
            )
            if isinstance(response, nio.SyncError):
                if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                    client.access_token = ""
                raise _Retry(f"sync refused: {response.status_code} {response.message}")
            await self._handle_sync(response, history=not first_ever)
            self._have_state = True
            if client.olm is not None:
                await self._keep_keys(client)
            self._token = response.next_batch
            self.syncs += 1
            self._save_once_stored(response.next_batch)
            if not self._online:
                self._online = True
                await self._publish(Connected(network=self.name, me=self.me))
                await self._join_configured()
                self.ready.set()

    async def _login(self, client: nio.AsyncClient) -> None:
        if self.config.access_token:
            device_id = self._device_id
            if device_id is None:
                client.access_token = self.config.access_token
                who = await client.whoami()
                if isinstance(who, nio.WhoamiError):
                    client.access_token = ""
                    self._refused(f"{who.status_code}: {who.message}")
                device_id = who.device_id
            client.restore_login(self.user_id, device_id or "", self.config.access_token)
        else:
            response = await client.login(
                password=self.config.password, device_name=self.config.device_name
            )
            if isinstance(response, nio.LoginError):
                self._refused(f"{response.status_code}: {response.message}")
            device_id = response.device_id
        self.login_error = None
        if device_id != self._device_id:
            self._device_id = device_id
            await self._save()
        log.info("%s: logged in as %s (device %s)", self.name, self.user_id, device_id)

    async def _keep_keys(self, client: nio.AsyncClient) -> None:
        """What an encrypting device owes after each sync: its one-time keys uploaded, other
        devices' keys queried and claimed, room keys sent to the devices that need them."""
        work = [client.send_to_device_messages()]
        if client.should_upload_keys:
            work.append(client.keys_upload())
        if client.should_query_keys:
            work.append(client.keys_query())
        if client.should_claim_keys:
            work.append(client.keys_claim(client.get_users_for_key_claiming()))
        for outcome in await asyncio.gather(*work, return_exceptions=True):
            if isinstance(outcome, BaseException | nio.ErrorResponse):
                log.warning("%s: encryption key upkeep: %s", self.name, outcome)

    def _refused(self, why: str) -> None:
        self.login_error = why
        log.error("%s: the homeserver refused to log in %s: %s", self.name, self.user_id, why)
        raise _Retry(f"login refused ({why})")

    def _save_once_stored(self, token: str) -> None:
        """Save ``token`` as the position to sync from once what the syncs before it delivered
        is handled and stored: a process that takes over (or this one restarted after
        ``kill -9``) syncs from there and is given again whatever was not stored yet. Off the
        sync loop: a busy bot keeps syncing while the position waits."""
        # The ids seen with it: every event of these syncs is published by now (none later).
        self._wanted = (token, self._seen.dump()[-STORED_IDS:])
        self._save_wanted.set()
        if self._saver is None or self._saver.done():
            self._saver = asyncio.create_task(self._saving(), name=f"matrix {self.name} position")

    async def _saving(self) -> None:
        while True:
            await self._save_wanted.wait()
            self._save_wanted.clear()
            wanted = self._wanted
            if not await self._handled_for_good():
                await asyncio.sleep(1)
                self._save_wanted.set()  # try again: the bus busy, or the database away
                continue
            if wanted is not None:
                self._stored_token, self._stored_ids = wanted
            try:
                await self._save()
            except Exception as error:
                log.warning("%s: the sync position could not be saved: %s", self.name, error)

    async def _handled_for_good(self) -> bool:
        """Whether everything published so far is handled and stored (within a few seconds)."""
        if self._sink is None:
            return True
        try:
            await asyncio.wait_for(self._sink.durable(), DURABLE_SECONDS)
        except TimeoutError:
            return False
        return True

    async def _save(self) -> None:
        if self.state is None:
            return
        values = {
            # Only ids of events stored: one seen but not stored is given again after a restart.
            "recent_ids": json.dumps(self._stored_ids),
            "direct_rooms": json.dumps(self._direct),
        }
        token = self._stored_token
        if token is not None:
            values["sync_token"] = token
        if self._device_id is not None:
            values["device_id"] = self._device_id
        await self.state.save(values)
        self._saved_token = token
