"""The Etherpad client against a small fake Etherpad: version discovery, the envelope on error
answers, API keys and OAuth2 client credentials; and the agenda parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from opsbot_plugins.etherpad.agenda import agenda_items
from opsbot_plugins.etherpad.client import (
    EtherpadAuthError,
    EtherpadClient,
    EtherpadError,
    EtherpadNoPad,
    EtherpadUnavailable,
    OAuth2,
)
from opsbot_plugins.etherpad.outbox import marker


class FakeEtherpad:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], str | None]] = []
        self.tokens_issued = 0

    async def api(self, request: web.Request) -> web.Response:
        return web.json_response({"currentVersion": "1.3.0"})

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_secret") != "s3cret":
            return web.json_response({"error": "invalid_client"}, status=401)
        self.tokens_issued += 1
        return web.json_response({"access_token": "tok", "expires_in": 3600})

    async def call(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        function = request.match_info["function"]
        self.calls.append((function, form, request.headers.get("Authorization")))
        authorised = form.get("apikey") == "key" or request.headers.get("Authorization") == (
            "Bearer tok"
        )
        if not authorised:
            body: dict[str, Any] = {"code": 4, "message": "no or wrong API Key", "data": None}
            return web.json_response(body, status=401)
        if function == "getText" and form.get("padID") == "missing":
            body = {"code": 1, "message": "padID does not exist", "data": None}
            return web.json_response(body, status=400)
        if function == "explode":
            return web.Response(status=502, text="bad gateway")
        if function == "nosuch":
            body = {"code": 3, "message": "no such function", "data": None}
            return web.json_response(body, status=404)
        return web.json_response({"code": 0, "message": "ok", "data": {"text": "hello\n"}})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeEtherpad, str]]:
    server = FakeEtherpad()
    app = web.Application()
    app.router.add_get("/api", server.api)
    app.router.add_post("/oidc/token", server.token)
    app.router.add_post("/api/{version}/{function}", server.call)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_version_is_discovered_and_long_text_goes_in_the_body(
    fake: tuple[FakeEtherpad, str],
) -> None:
    server, url = fake
    client = EtherpadClient(url, api_key="key")
    try:
        await client.append_text("p", "x" * 100_000)
        assert client.api_version == "1.3.0"
        function, form, _ = server.calls[0]
        assert function == "appendText" and len(form["text"]) == 100_000
        assert await client.get_text("p") == "hello\n"
    finally:
        await client.close()


async def test_each_error_answer_is_a_clear_exception(fake: tuple[FakeEtherpad, str]) -> None:
    _, url = fake
    client = EtherpadClient(url, api_key="key")
    wrong = EtherpadClient(url, api_key="wrong")
    try:
        with pytest.raises(EtherpadNoPad, match="does not exist"):
            await client.get_text("missing")
        with pytest.raises(EtherpadUnavailable, match="HTTP 502"):
            await client.call("explode")
        with pytest.raises(EtherpadError, match="no such function"):
            await client.call("nosuch")
        with pytest.raises(EtherpadAuthError, match="refused the API key"):
            await wrong.get_text("p")
    finally:
        await client.close()
        await wrong.close()


async def test_an_unreachable_etherpad_is_unavailable() -> None:
    client = EtherpadClient("http://127.0.0.1:9", api_key="key")
    try:
        with pytest.raises(EtherpadUnavailable, match="cannot reach Etherpad"):
            await client.get_text("p")
    finally:
        await client.close()


async def test_oauth2_client_credentials(fake: tuple[FakeEtherpad, str]) -> None:
    server, url = fake
    client = EtherpadClient(url, oauth=OAuth2("opsbot", "s3cret"))
    wrong = EtherpadClient(url, oauth=OAuth2("opsbot", "guess"))
    try:
        await client.get_text("p")
        await client.get_text("p")
        assert [auth for _, _, auth in server.calls] == ["Bearer tok", "Bearer tok"]
        assert server.tokens_issued == 1, "the token is reused until it expires"
        assert "apikey" not in server.calls[0][1]
        with pytest.raises(EtherpadAuthError, match="OAuth2"):
            await wrong.get_text("p")
    finally:
        await client.close()
        await wrong.close()


def test_markers_are_invisible_and_never_inside_one_another() -> None:
    assert all(ch in "\u200b\u200c\u2063" for ch in marker(12345))
    tags = [marker(i) for i in range(1, 300)]
    assert not any(a in b for a in tags for b in tags if a != b)


def test_agenda_items_under_the_heading_only() -> None:
    text = "Ops meetup\n\n== Agenda ==\n- Roll call\n* Upgrades\n3. AOB\n\nNotes\n- not this"
    assert agenda_items(text) == ["Roll call", "Upgrades", "AOB"]
    assert agenda_items("Topics:\n1) one\n2) two\nmore", "Topics") == ["one", "two"]
    assert agenda_items("no agenda here") == []


def test_a_server_needs_exactly_one_way_in() -> None:
    from pydantic import ValidationError

    from opsbot_plugins.etherpad.plugin import EtherpadServer

    EtherpadServer(url="https://pad.example", api_key="k")
    EtherpadServer(url="https://pad.example", oauth_client_id="c", oauth_client_secret="s")
    with pytest.raises(ValidationError, match="one of api_key"):
        EtherpadServer(url="https://pad.example")
    with pytest.raises(ValidationError, match="one of api_key"):
        EtherpadServer(url="https://pad.example", api_key="k", oauth_client_id="c")
    with pytest.raises(ValidationError, match="needs oauth_client_secret"):
        EtherpadServer(url="https://pad.example", oauth_client_id="c")


def test_an_api_key_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from opsbot_plugins.etherpad.plugin import EtherpadServer

    with pytest.raises(ValidationError, match=r"cannot read .*missing\.txt: No such file"):
        EtherpadServer(url="http://127.0.0.1:9001", api_key_file=tmp_path / "missing.txt")
    empty = tmp_path / "APIKEY.txt"
    empty.write_text("\n")
    with pytest.raises(ValidationError, match=r"APIKEY\.txt is empty"):
        EtherpadServer(url="http://127.0.0.1:9001", api_key_file=empty)
    empty.write_text("secret\n")
    assert EtherpadServer(url="http://127.0.0.1:9001", api_key_file=empty).client() is not None
