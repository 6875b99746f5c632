"""Matrix transport over matrix-nio: one account on one homeserver.

It syncs in a loop of its own and hands every room event to the bus in order. The device ID, the
sync token and the IDs of the latest events are stored in the bot's database after each sync, so
a restart resumes where it stopped: it never replays history and never runs a command twice. The
first sync ever only learns the rooms' state; history before it is skipped. A sync that comes
back ``limited`` (more happened than it carries) is completed by paging back to the last token.
Every request that fails is retried with backoff; the homeserver's rate limit is obeyed as it
asks, a bounded number of times. Replies are m.notice with Markdown rendered to HTML, threaded
to the command they answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import nio

from .. import matrix_ids
from ..config import MatrixNetwork
from ..events import (
    Connected,
    Disconnected,
    Edit,
    Event,
    Identity,
    Join,
    Message,
    Part,
    Reaction,
    Redaction,
    Role,
    Room,
)
from .base import Capabilities, EventSink, Transport, TransportError
from .matrix_format import render, sanitise, strip_reply_fallback

log = logging.getLogger(__name__)

TIMELINE_LIMIT = 100
KEPT_IDS = 1000
"""Event IDs remembered to drop an event the homeserver sends twice."""
STORED_IDS = 200
"""Of those, the newest stored with each sync token (what a replay after a crash could bring)."""
GAP_PAGES = 100
"""At most this many pages of TIMELINE_LIMIT events are fetched to fill one sync's gap."""
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


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


class _Retry(Exception):
    """The homeserver cannot be used now; try again after a while."""


class RecentIds:
    """The last ``size`` event IDs seen, for dropping duplicates."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque(maxlen=size)
        self._set: set[str] = set()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._set

    def add(self, event_id: str) -> None:
        if event_id in self._set:
            return
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(event_id)
        self._set.add(event_id)

    def dump(self) -> list[str]:
        return list(self._order)


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def _server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


class MatrixTransport(Transport):
    type = "matrix"

    def __init__(self, config: MatrixNetwork) -> None:
        super().__init__(config.name, prefix=config.prefix)
        self.config = config
        self.capabilities = Capabilities(
            accounts=True, html=True, reactions=True, edits=True, threads=True, topic=True
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
            self._token = stored.get("sync_token")
            self._device_id = stored.get("device_id")
            for event_id in json.loads(stored.get("recent_ids", "[]")):
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
        if self.client is not None:
            await self.client.close()
        self._sink = None

    async def _run(self) -> None:
        """Log in and sync; after any failure wait (exponential backoff, jitter) and resume."""
        retry = self.config.retry
        delay = retry.min_delay
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
                delay = retry.min_delay
            wait = min(delay, retry.max_delay) * random.uniform(0.75, 1.25)
            log.info("%s: trying the homeserver again in %.1f s", self.name, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, retry.max_delay)

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
            await self._save()
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

    async def _save(self) -> None:
        if self.state is None:
            return
        values = {
            "recent_ids": json.dumps(self._seen.dump()[-STORED_IDS:]),
            "direct_rooms": json.dumps(self._direct),
        }
        if self._token is not None:
            values["sync_token"] = self._token
        if self._device_id is not None:
            values["device_id"] = self._device_id
        await self.state.save(values)

    async def _resolve_configured(self, client: nio.AsyncClient) -> None:
        """The room IDs of configured aliases, so an invitation to such a room (which names
        it by ID) is known for one the operator configured."""
        for room in self.config.rooms:
            if not matrix_ids.is_alias(room):
                continue
            answer = await client.room_resolve_alias(room)
            if isinstance(answer, nio.RoomResolveAliasResponse):
                self._configured.add(answer.room_id)
                self._aliases[room] = answer.room_id
            else:
                log.warning("%s: cannot resolve %s: %s", self.name, room, answer.message)

    async def _join_configured(self) -> None:
        assert self.client is not None
        joined = set(self.client.rooms)
        for room in self.config.rooms:
            if room in joined or any(r.canonical_alias == room for r in self.client.rooms.values()):
                continue
            try:
                await self.join(room)
            except TransportError as why:
                log.error("%s: %s", self.name, why)

    # incoming

    async def _publish(self, event: Event) -> None:
        if self._sink is not None:
            await self._sink.publish(event)

    async def _handle_sync(self, response: nio.SyncResponse, *, history: bool) -> None:
        for room_id, invite in response.rooms.invite.items():
            await self._invited(room_id, invite)
        for room_id, info in response.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                if isinstance(event, nio.RoomCreateEvent):
                    extra = (event.source.get("content") or {}).get("additional_creators")
                    self._creators[room_id] = {event.sender, *(extra or ())}
            events = list(info.timeline.events)
            if not history:
                for event in events:
                    self._seen.add(event.event_id)
                continue
            timeline = info.timeline
            if timeline.limited and timeline.prev_batch and self._own_join(events) is None:
                events = await self._gap(room_id, timeline.prev_batch) + events
            joined = self._own_join(events)
            if joined is not None:  # a room new to the bot: what came before is history
                for event in events[: joined + 1]:
                    self._seen.add(event.event_id)
                events = events[joined + 1 :]
            room = self._room_of(room_id)
            for event in events:
                await self._deliver(room, event)

    def _own_join(self, events: list[Any]) -> int | None:
        """Where in a timeline the bot itself joined the room (the room is new to it)."""
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (
                isinstance(event, nio.RoomMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                return index
        return None

    async def _gap(self, room_id: str, prev_batch: str) -> list[Any]:
        """The events a limited sync left out: from its start back to the previous token."""
        assert self.client is not None
        found: list[Any] = []
        start = prev_batch
        for _ in range(GAP_PAGES):
            page = await self.client.room_messages(
                room_id, start=start, end=self._token, limit=TIMELINE_LIMIT
            )
            if isinstance(page, nio.RoomMessagesError):
                raise _Retry(f"cannot page back in {room_id}: {page.message}")
            found.extend(page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        else:
            log.warning("%s: gap in %s longer than %d events", self.name, room_id, len(found))
        found.reverse()
        log.info("%s: fetched %d events a limited sync left out", self.name, len(found))
        return found

    async def _deliver(self, room: Room, event: Any) -> None:
        event_id = getattr(event, "event_id", None)
        if event_id is None or event_id in self._seen:
            return
        self._seen.add(event_id)
        source = getattr(event, "source", {}) or {}
        if event.sender == self.user_id and (source.get("unsigned") or {}).get("transaction_id"):
            return  # sent by this very device: the bot logged it when it said it
        converted = self._convert(room, event, source)
        if converted is not None:
            await self._publish(converted)

    def _identity(self, room_id: str, user_id: str) -> Identity:
        display = None
        if self.client is not None and (room := self.client.rooms.get(room_id)) is not None:
            user = room.users.get(user_id)
            display = user.display_name if user is not None else None
        return Identity(self.name, user_id, localpart(user_id), display)

    def _convert(self, room: Room, event: Any, source: dict[str, Any]) -> Event | None:
        ts = datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
        sender = self._identity(room.id, event.sender)
        common: dict[str, Any] = {"network": self.name, "room": room, "ts": ts}
        if isinstance(event, nio.RedactionEvent):
            return Redaction(
                **common, sender=sender, target_id=event.redacts, reason=event.reason,
                id=event.event_id,
            )  # fmt: skip
        if isinstance(event, nio.ReactionEvent):
            return Reaction(
                **common, sender=sender, target_id=event.reacts_to, key=event.key,
                id=event.event_id,
            )  # fmt: skip
        if isinstance(event, nio.RoomMemberEvent):
            who = self._identity(room.id, event.state_key)
            if event.membership == "join" and event.prev_membership != "join":
                return Join(**common, who=who)
            if event.membership in ("leave", "ban") and event.prev_membership == "join":
                return Part(**common, who=who, reason=event.content.get("reason"))
            return None
        if isinstance(event, nio.MegolmEvent):
            log.warning(
                "%s: cannot decrypt %s from %s in %s (no room key for this device yet)",
                self.name, event.event_id, event.sender, room.id,
            )  # fmt: skip
            return None
        if not isinstance(event, nio.RoomMessage):
            return None
        content = source.get("content") or {}
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace" and isinstance(relates.get("event_id"), str):
            new = content.get("m.new_content") or {}
            return Edit(
                **common, sender=sender, target_id=relates["event_id"],
                text=_text(new.get("body")), html=_html(new), id=event.event_id,
            )  # fmt: skip
        body, formatted = _text(content.get("body")), _html(content)
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        if reply_to is not None:
            body, formatted = strip_reply_fallback(body, formatted)
        msgtype = content.get("msgtype")
        return Message(
            **common,
            sender=sender,
            text=body,
            html=formatted,
            id=event.event_id,
            reply_to=reply_to if isinstance(reply_to, str) else None,
            is_action=msgtype == "m.emote",
            is_notice=msgtype == "m.notice",
            raw=source,
        )

    async def _invited(self, room_id: str, invite: Any) -> None:
        """Accept an invitation to a configured room from anyone (configuring it is the
        operator's consent), to other rooms from the users and servers of ``invites``."""
        assert self.client is not None
        inviter = None
        aliases: set[str] = set()
        for event in invite.invite_state:
            if (
                isinstance(event, nio.InviteMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
            elif isinstance(event, nio.InviteAliasEvent):
                content = event.source.get("content") or {}
                named = [event.canonical_alias, *(content.get("alt_aliases") or ())]
                aliases.update(alias for alias in named if isinstance(alias, str))
        rules = self.config.invites
        configured = room_id in self._configured or bool(aliases & self._configured)
        if configured or (
            inviter is not None and (inviter in rules.users or _server_of(inviter) in rules.servers)
        ):
            why = "a configured room" if configured else "an allowed inviter"
            log.info("%s: invited to %s by %s (%s); joining", self.name, room_id, inviter, why)
            response: Any = await self.client.join(room_id)
        else:
            log.info("%s: declined the invitation to %s from %s", self.name, room_id, inviter)
            response = await self.client.room_leave(room_id)
        if isinstance(response, nio.ErrorResponse):
            log.warning("%s: answering the invitation to %s: %s", self.name, room_id, response)

    # sending

    async def _request(self, what: str, call: Any) -> Any:
        """Run one homeserver request, again while the homeserver cannot be reached; an error
        answer becomes a TransportError a person can read."""
        attempts = self.config.retry.send_attempts
        for attempt in range(attempts):
            try:
                response = await call()
            except NETWORK_ERRORS as error:
                why = str(error) or type(error).__name__
                if attempt + 1 == attempts:
                    raise TransportError(f"cannot reach the homeserver to {what}: {why}") from None
                await asyncio.sleep(self.config.retry.min_delay * 2**attempt)
                continue
            if isinstance(response, nio.ErrorResponse):
                if response.status_code == "M_LIMIT_EXCEEDED":
                    raise TransportError(f"the homeserver keeps rate-limiting; could not {what}")
                raise TransportError(f"could not {what}: {response.message}")
            return response
        raise AssertionError("unreachable")

    async def room_id_of(self, room: str) -> str:
        """The room ID of an ID or alias (a reminder may name a room by its alias); raises
        TransportError when the homeserver knows no such alias."""
        if not matrix_ids.is_alias(room):
            return room
        known = self._aliases.get(room) or next(
            (i for i, r in (self.client.rooms if self.client else {}).items()
             if r.canonical_alias == room),
            None,
        )  # fmt: skip
        if known is None:
            if self.client is None:
                raise TransportError("not connected to the homeserver")
            client = self.client
            answer = await self._request(
                f"find the room {room}", lambda: client.room_resolve_alias(room)
            )
            known = str(answer.room_id)
        self._aliases[room] = known
        return known

    async def _room_send(self, room_id: str, kind: str, content: dict[str, Any]) -> str:
        assert self.client is not None
        client = self.client
        room_id = await self.room_id_of(room_id)
        tx_id = f"opsbot-{uuid.uuid4().hex}"  # the same on every retry: never posted twice
        response = await self._request(
            f"send to {room_id}",
            lambda: client.room_send(
                room_id, kind, content, tx_id=tx_id, ignore_unverified_devices=True
            ),
        )
        event_id: str = response.event_id
        self._seen.add(event_id)
        return event_id

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
        content: dict[str, Any] = {
            "msgtype": "m.notice" if notice or self.config.notice_replies else "m.text",
            "body": text,
            "format": "org.matrix.custom.html",
            "formatted_body": sanitise(html) if html is not None else render(text, mentions),
            "m.mentions": {"user_ids": sorted({m.account for m in mentions if m.account})},
        }
        if reply_to is not None and reply_to.id is not None and reply_to.room.id == room.id:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to.id}}
        return await self._room_send(room.id, "m.room.message", content)

    async def send_private(self, who: Identity, text: str) -> None:
        if who.account is None:
            raise TransportError(f"{who.nick} has no Matrix ID")
        room_id = self._direct.get(who.account)
        if room_id is None or self.client is None or room_id not in self.client.rooms:
            assert self.client is not None
            client = self.client
            account = who.account
            created = await self._request(
                f"open a direct chat with {who.account}",
                lambda: client.room_create(
                    is_direct=True,
                    invite=[account],
                    preset=nio.RoomPreset.trusted_private_chat,
                ),
            )
            room_id = str(created.room_id)
            self._direct[who.account] = room_id
            await self._save()
        await self.send(Room(self.name, room_id, is_direct=True), text)

    async def react(self, room: Room, target_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target_id, "key": key}}
        await self._room_send(room.id, "m.reaction", content)

    async def set_topic(self, room: Room, topic: str) -> None:
        assert self.client is not None
        client = self.client
        room_id = await self.room_id_of(room.id)
        await self._request(
            f"set the topic of {room.id}",
            lambda: client.room_put_state(room_id, "m.room.topic", {"topic": topic}),
        )

    # rooms and people

    async def role(self, room: Room, who: Identity) -> Role:
        matrix_room = self.client.rooms.get(room.id) if self.client is not None else None
        if matrix_room is None or who.account is None:
            return Role.NONE
        levels = matrix_room.power_levels
        if who.account not in levels.users and who.account in self._creators.get(room.id, ()):
            level = 100  # room version 12 on: creators outrank everyone, unlisted
        else:
            level = levels.get_user_level(who.account)
        if level >= 100:
            return Role.ADMIN
        if level >= 50:
            return Role.OP
        return Role.VOICE if level > 0 else Role.NONE

    async def join(self, room_id: str, key: str | None = None) -> Room:
        if not matrix_ids.is_room(room_id):
            raise TransportError(f"{room_id} is not {matrix_ids.WHAT}")
        if self.client is None:
            raise TransportError("not connected to the homeserver")
        client = self.client
        response = await self._request(f"join {room_id}", lambda: client.join(room_id))
        return self._room_of(str(response.room_id))

    async def part(self, room: Room, reason: str | None = None) -> None:
        if self.client is None or room.id not in self.client.rooms:
            raise TransportError(f"I am not in {room.id}")
        client = self.client
        await self._request(f"leave {room.id}", lambda: client.room_leave(room.id))

    def rooms(self) -> list[Room]:
        if self.client is None:
            return []
        return [self._room_of(room_id) for room_id in self.client.rooms]

    def room(self, room_id: str) -> Room:
        return self._room_of(room_id)

    def _room_of(self, room_id: str) -> Room:
        matrix_room = self.client.rooms.get(room_id) if self.client is not None else None
        if matrix_room is None:
            return Room(self.name, room_id)
        # A direct chat: one the bot opened, or an unnamed room of the bot and one person.
        direct = room_id in self._direct.values() or (
            matrix_room.is_group and matrix_room.member_count <= 2
        )
        return Room(
            self.name,
            room_id,
            name=matrix_room.canonical_alias or matrix_room.name,
            is_direct=direct,
        )

    def member(self, room: Room, nick: str) -> Identity | None:
        matrix_room = self.client.rooms.get(room.id) if self.client is not None else None
        if matrix_room is None:
            return None
        wanted = nick.casefold()
        for user_id, user in matrix_room.users.items():
            if (
                user_id == nick
                or localpart(user_id).casefold() == wanted
                or (user.display_name or "").casefold() == wanted
            ):
                return Identity(self.name, user_id, localpart(user_id), user.display_name)
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _html(content: dict[str, Any]) -> str | None:
    if content.get("format") != "org.matrix.custom.html":
        return None
    value = content.get("formatted_body")
    return value if isinstance(value, str) else None
