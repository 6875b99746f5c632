"""Webhooks: the domain events other tools can act on, POSTed as signed JSON through the outbox.

Each ``webhooks:`` entry of the config names a URL, its secret and the events it wants. An event
becomes one outbox entry per webhook (channel ``webhook``, the webhook's name as target: in order,
one at a time), stored before it is tried and tried until the receiver answers 2xx: at least
once, across outages and restarts, under an idempotency key (``X-Opsbot-Delivery``, the same for
every attempt of one event) the receiver may use to drop a repeat. The body is
:data:`BODY_VERSION`-versioned JSON, signed with HMAC-SHA256 of the raw body in
``X-Opsbot-Signature: sha256=<hex>``. A receiver answering 410 Gone is disabled (kept in the
state table until its URL changes), with a log line; a 4xx other than 408 and 429 holds its
deliveries (kept, retried, the admins told once); anything else is retried with the backoff.

Events of meetings under ``#restrictlogs`` go only to webhooks that say ``restricted: true``;
kudos of people who left the public leaderboards go nowhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from . import domain
from .config import WebhookConfig
from .events import DomainEvent, utcnow
from .outbox import Entry, Held, Outbox
from .people import People
from .state import State
from .storage import Storage

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("opsbot.webhooks")

CHANNEL = "webhook"
BODY_VERSION = 1
LEFT_OUT = {"minutes_text"}
"""Fields not sent (the .txt minutes: the receiver has the link)."""

Subscribe = Callable[[type[DomainEvent], Callable[[Any], Awaitable[None]]], None]
TellAdmins = Callable[[str], Awaitable[int]]


def _user_agent() -> str:
    try:
        return f"opsbot/{version('opsbot')}"
    except PackageNotFoundError:
        return "opsbot"


def event_key(event: DomainEvent) -> str:
    """What one event is, whoever asks and however often it is emitted."""
    name = type(event).__name__
    if isinstance(event, domain.ActionItemClosed):
        return f"{name}:{event.action_id}"
    if isinstance(event, domain.ItemRecorded):
        return f"{name}:{event.meeting_id}:{event.seq}"
    if isinstance(event, domain.MeetingEvent):
        return f"{name}:{event.meeting_id}"
    if isinstance(event, domain.KudosGiven):
        return f"{name}:{event.kudos_id}"
    return f"{name}:{event.ts.isoformat()}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def body_of(event: DomainEvent, key: str) -> dict[str, Any]:
    """The JSON body (see README, "Webhooks")."""
    data = {
        f.name: _plain(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if f.name not in LEFT_OUT and f.name != "ts"
    }
    return {
        "version": BODY_VERSION,
        "id": key,
        "event": type(event).__name__,
        "ts": event.ts.isoformat(),
        "data": data,
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(
        self,
        hooks: Sequence[WebhookConfig],
        outbox: Outbox,
        storage: Storage,
        people: People,
        tell_admins: TellAdmins,
    ) -> None:
        self.hooks = {hook.name: hook for hook in hooks}
        self.outbox = outbox
        self.people = people
        self._tell_admins = tell_admins
        self._state = State(storage, "webhooks")
        self._disabled: dict[str, str] = {}
        """Name to the URL that answered 410 (still disabled while the config names it)."""
        self._session: aiohttp.ClientSession | None = None

    async def start(self, subscribe: Subscribe) -> None:
        if not self.hooks:
            return
        for name, value in (await self._state.load()).items():
            gone = json.loads(value).get("gone_url")
            hook = self.hooks.get(name)
            if hook is not None and gone == hook.url:
                self._disabled[name] = gone
                log.warning("webhook %s stays disabled: %s answered 410 Gone", name, gone)
        import aiohttp  # only where webhooks are configured

        self._session = aiohttp.ClientSession(headers={"User-Agent": _user_agent()})
        wanted = {event for hook in self.hooks.values() for event in hook.events}
        for name in sorted(wanted):
            subscribe(getattr(domain, name), self.heard)
        first = min(hook.retry_min for hook in self.hooks.values())
        most = max(hook.retry_max for hook in self.hooks.values())
        await self.outbox.register(
            CHANNEL, self._deliver, held=self._held, first_delay=first, most_delay=most
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _private(self, event: DomainEvent) -> bool:
        """Whether the event must not leave for a webhook that did not ask for restricted ones."""
        return bool(getattr(event, "restricted", False))

    def _hidden(self, event: DomainEvent) -> bool:
        if isinstance(event, domain.KudosGiven):
            return self.people.hidden([event.giver]) or self.people.hidden([event.receiver])
        return False

    async def heard(self, event: DomainEvent) -> None:
        name = type(event).__name__
        if getattr(event, "imported", False) or self._hidden(event):
            return
        key = event_key(event)
        body: bytes | None = None
        for hook in self.hooks.values():
            if name not in hook.events or hook.name in self._disabled:
                continue
            if self._private(event) and not hook.restricted:
                continue
            if body is None:
                body = json.dumps(body_of(event, key), ensure_ascii=False).encode()
            self.outbox.add(
                CHANNEL, hook.name, {"event": name, "body": body.decode()}, key=f"{hook.name}:{key}"
            )

    async def _deliver(self, entries: list[Entry]) -> int:
        entry = entries[0]
        hook = self.hooks.get(entry.target)
        if hook is None or hook.name in self._disabled:
            return 1  # no longer configured, or gone: nothing to deliver it to
        assert self._session is not None
        body = entry.payload["body"].encode()
        delivery = json.loads(body)["id"]
        headers = {
            "Content-Type": "application/json",
            "X-Opsbot-Event": entry.payload["event"],
            "X-Opsbot-Delivery": delivery,
            "Idempotency-Key": delivery,
            "X-Opsbot-Signature": signature(hook.secret, body),
        }
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=hook.timeout)
        async with self._session.post(
            hook.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as answer:
            status = answer.status
        if 200 <= status < 300:
            return 1
        if status == 410:
            await self._gone(hook)
            return 1
        if 400 <= status < 500 and status not in (408, 429):
            raise Held(f"webhook {hook.name} ({hook.url}) answered {status}")
        raise RuntimeError(f"{hook.url} answered {status}")

    async def _gone(self, hook: WebhookConfig) -> None:
        self._disabled[hook.name] = hook.url
        log.error(
            "webhook %s disabled: %s answered 410 Gone (change its url in the config to use "
            "it again)",
            hook.name,
            hook.url,
        )
        value = json.dumps({"gone_url": hook.url, "at": utcnow().isoformat()})
        try:
            await self._state.save({hook.name: value})
        except Exception:
            log.exception("could not store that webhook %s is disabled", hook.name)

    async def _held(self, entry: Entry, error: Exception) -> None:
        await self._tell_admins(f"Webhook deliveries are held: {error}. They are kept and tried "
                                "again; fix the receiver or the config.")  # fmt: skip
