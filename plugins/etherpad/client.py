"""An async client for Etherpad's HTTP API over aiohttp.

The API version is discovered from ``GET /api``; calls are form POSTs (long text never hits a URL
length limit); authentication is an API key (``APIKEY.txt``, Etherpad 1.x) or an OAuth2 client
credentials token (the Etherpad 2.x default). Every answer, error responses with HTTP 4xx
included, is the ``{code, message, data}`` envelope; each failure becomes one clear exception.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

CODES = {
    1: "wrong parameters",
    2: "internal error in Etherpad",
    3: "no such API function",
    4: "no or wrong API key",
}


class EtherpadError(Exception):
    """Etherpad answered, and said no; the message is fit to show a chair."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class EtherpadAuthError(EtherpadError):
    """The API key or the OAuth2 credentials are wrong: retrying will not help."""


class EtherpadNoPad(EtherpadError):
    """The pad does not exist (yet)."""


class EtherpadUnavailable(EtherpadError):
    """Etherpad could not be reached, or failed in a way worth retrying."""


@dataclass(frozen=True, slots=True)
class OAuth2:
    client_id: str
    client_secret: str
    token_url: str = ""
    """Default: ``<server>/oidc/token`` (Etherpad 2.x's own provider)."""


class EtherpadClient:
    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        oauth: OAuth2 | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.oauth = oauth
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.api_version: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def _version(self) -> str:
        if self.api_version is None:
            async with self._lock:
                if self.api_version is None:
                    data = await self._get_json(f"{self.url}/api")
                    version = data.get("currentVersion")
                    if not isinstance(version, str):
                        raise EtherpadError(f"{self.url}/api does not look like Etherpad's API")
                    self.api_version = version
        return self.api_version

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http().get(url) as response:
                if response.status >= 500:
                    raise EtherpadUnavailable(f"Etherpad answered HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise EtherpadUnavailable(
                f"cannot reach Etherpad at {self.url}: {_why(error)}"
            ) from None
        if not isinstance(data, dict):
            raise EtherpadError(f"{url} answered something that is not JSON")
        return data

    async def _bearer(self) -> str:
        assert self.oauth is not None
        if self._token is not None and time.monotonic() < self._token_expires - 30:
            return self._token
        token_url = self.oauth.token_url or f"{self.url}/oidc/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
        }
        try:
            async with self._http().post(token_url, data=form) as response:
                data = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise EtherpadUnavailable(f"cannot get an OAuth2 token: {_why(error)}") from None
        token = data.get("access_token") if isinstance(data, dict) else None
        if status in (400, 401, 403) or not isinstance(token, str):
            why = (
                data.get("error_description") or data.get("error") if isinstance(data, dict) else ""
            )
            raise EtherpadAuthError(f"Etherpad refused the OAuth2 client credentials: {why}")
        self._token = token
        self._token_expires = time.monotonic() + float(data.get("expires_in") or 300)
        return token

    async def call(self, function: str, **params: str) -> dict[str, Any]:
        """Call one API function; returns its ``data`` (``{}`` when there is none)."""
        version = await self._version()
        form = dict(params)
        headers = {}
        if self.oauth is not None:
            headers["Authorization"] = f"Bearer {await self._bearer()}"
        elif self.api_key is not None:
            form["apikey"] = self.api_key
        url = f"{self.url}/api/{version}/{function}"
        try:
            async with self._http().post(url, data=form, headers=headers) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise EtherpadUnavailable(
                f"cannot reach Etherpad at {self.url}: {_why(error)}"
            ) from None
        if not isinstance(body, dict):
            if status >= 500 or status == 0:
                raise EtherpadUnavailable(f"Etherpad answered HTTP {status}")
            raise EtherpadError(f"Etherpad answered HTTP {status} without its JSON envelope")
        code, message = body.get("code"), str(body.get("message") or "")
        if code == 0:
            data = body.get("data")
            return data if isinstance(data, dict) else {}
        if code == 4 or status == 401:
            self._token = None
            raise EtherpadAuthError(f"Etherpad refused the API key: {message or CODES[4]}", 4)
        if code == 1 and "does not exist" in message:
            raise EtherpadNoPad(message, 1)
        if code == 2 or status >= 500:
            raise EtherpadUnavailable(f"Etherpad failed: {message or CODES[2]}", 2)
        described = CODES.get(code, f"code {code}") if isinstance(code, int) else "no code"
        raise EtherpadError(f"Etherpad said no to {function}: {message or described}", code)

    async def get_text(self, pad: str) -> str:
        return str((await self.call("getText", padID=pad)).get("text", ""))

    async def append_text(self, pad: str, text: str) -> None:
        await self.call("appendText", padID=pad, text=text)

    async def set_text(self, pad: str, text: str) -> None:
        await self.call("setText", padID=pad, text=text)

    async def create_pad(self, pad: str, text: str = "") -> None:
        await self.call("createPad", padID=pad, text=text)


def _why(error: BaseException) -> str:
    return str(error) or type(error).__name__
