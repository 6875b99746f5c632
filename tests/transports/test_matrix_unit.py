"""Matrix transport parts that need no homeserver: message formatting, the memory of event IDs,
the stored state, and obeying a homeserver's rate limit (against a tiny fake homeserver)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web

from opsbot.config import MatrixNetwork
from opsbot.events import Identity, Room
from opsbot.state import MIGRATIONS, State
from opsbot.storage import Storage
from opsbot.transports.base import TransportError
from opsbot.transports.matrix import MatrixTransport, RecentIds
from opsbot.transports.matrix_format import render, sanitise, strip_reply_fallback

BOB = Identity("matrix", "@bob:example.org", "bob", "Bob B")


def test_a_reply_renders_markdown_and_never_passes_raw_html() -> None:
    assert render("**done** <script>alert(1)</script>") == (
        "<strong>done</strong> &lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert render("one\ntwo") == "one<br />\ntwo"


def test_mentions_become_pills_only_where_the_name_stands_alone() -> None:
    html = render("bob to file it; bobby and `bob` and @bob stay", [BOB])
    assert html.count('href="https://matrix.to/#/@bob:example.org"') == 1
    assert html.startswith('<a href="https://matrix.to/#/@bob:example.org">Bob B</a> to file it')
    assert "<code>bob</code>" in html


def test_plugin_html_is_sanitised() -> None:
    cleaned = sanitise('<b onclick="x()">ok</b><script>bad()</script><a href="javascript:x">l</a>')
    assert cleaned == "<b>ok</b><a>l</a>"


def test_the_reply_fallback_is_stripped() -> None:
    body, html = strip_reply_fallback(
        "> <@a:hs> the question\n> more\n\n!ping",
        "<mx-reply><blockquote>q</blockquote></mx-reply>!ping",
    )
    assert (body, html) == ("!ping", "!ping")


def test_recent_ids_forget_the_oldest() -> None:
    ids = RecentIds(3)
    for event_id in "abcd":
        ids.add(event_id)
    ids.add("c")
    assert "a" not in ids and "d" in ids
    assert ids.dump() == ["b", "c", "d"]


async def test_state_is_saved_and_loaded_per_scope(tmp_path: Path) -> None:
    storage = Storage(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    await storage.connect()
    try:
        await storage.migrate([("opsbot", MIGRATIONS)])
        one, two = State(storage, "network:a"), State(storage, "network:b")
        await one.save({"sync_token": "s1", "device_id": "D"})
        await one.save({"sync_token": "s2"})
        await two.save({"sync_token": "other"})
        assert await one.load() == {"sync_token": "s2", "device_id": "D"}
        assert await two.load() == {"sync_token": "other"}
    finally:
        await storage.close()


class FakeHomeserver:
    """Answers room sends with M_LIMIT_EXCEEDED ``limited`` times, then accepts."""

    def __init__(self, limited: int) -> None:
        self.limited = limited
        self.sends: list[str] = []

    async def send(self, request: web.Request) -> web.Response:
        self.sends.append(request.match_info["txn"])
        if len(self.sends) <= self.limited:
            body: dict[str, Any] = {
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too many requests",
                "retry_after_ms": 50,
            }
            return web.json_response(body, status=429)
        return web.json_response({"event_id": "$sent"})


async def sending_through(fake: FakeHomeserver, retries: int) -> tuple[MatrixTransport, Any]:
    app = web.Application()
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{kind}/{txn}", fake.send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = MatrixNetwork(
        type="matrix",
        name="matrix",
        homeserver=f"http://127.0.0.1:{port}",
        user_id="@opsbot:example.org",
        access_token="token",
        retry={"rate_limit_retries": retries},
    )
    transport = MatrixTransport(config)
    await transport.start(_NullSink())
    assert transport._task is not None
    transport._task.cancel()  # no sync loop: only sending is under test
    assert transport.client is not None
    transport.client.restore_login("@opsbot:example.org", "DEVICE", "token")
    return transport, runner


class _NullSink:
    async def publish(self, event: Any, *, wait: bool = True) -> None:
        pass

    def offer(self, event: Any) -> bool:
        return True

    async def drain(self) -> None:
        pass

    async def durable(self) -> None:
        return None


async def test_the_rate_limit_is_obeyed_then_the_message_goes_out_once() -> None:
    fake = FakeHomeserver(limited=2)
    transport, runner = await sending_through(fake, retries=5)
    try:
        started = asyncio.get_running_loop().time()
        sent = await transport.send(Room("matrix", "!r:example.org"), "hello")
        waited = asyncio.get_running_loop().time() - started
    finally:
        await transport.stop()
        await runner.cleanup()
    assert sent == "$sent"
    assert len(fake.sends) == 3 and len(set(fake.sends)) == 1, "one transaction, retried"
    assert waited >= 0.1, "it waited as long as the homeserver asked, twice"


async def test_a_rate_limit_that_never_lifts_fails_after_the_bounded_retries() -> None:
    fake = FakeHomeserver(limited=100)
    transport, runner = await sending_through(fake, retries=2)
    try:
        try:
            await transport.send(Room("matrix", "!r:example.org"), "hello")
        except TransportError as error:
            assert "rate-limiting" in str(error)
        else:
            raise AssertionError("the send should have failed")
    finally:
        await transport.stop()
        await runner.cleanup()
    assert len(fake.sends) == 3
