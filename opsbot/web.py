"""The bot's web site: one aiohttp application in the bot's process, to which plugins add their
pages and JSON endpoints at set-up (the meetings archive, search, people, kudos, the calendar).

The core gives every page the same frame (``base.html``, ``/static/site.css``), renders
templates with autoescaping (nothing a person typed is ever marked safe), merges the plugins'
OpenAPI fragments into ``/api/openapi.json``, and puts security headers on every response: a
Content-Security-Policy that allows no inline script and no resource from elsewhere. The site is
read-only: only GET (and HEAD) routes exist.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from .config import WebConfig

if TYPE_CHECKING:
    import jinja2

log = logging.getLogger("opsbot.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"


def style_hash(css: str) -> str:
    """The CSP source that allows one inline ``<style>`` block (MeetBot-style minutes files)."""
    digest = hashlib.sha256(css.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


class Web:
    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.app = web.Application(middlewares=[self._frame])
        self._template_folders: dict[str, Path] = {"opsbot": TEMPLATES}
        self.sections: list[tuple[str, str]] = []
        """(title, path) of each part of the site, for the navigation."""
        self.openapi: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": "opsbot", "version": "1"},
            "paths": {},
            "components": {"schemas": {}},
        }
        self.person_pages = False
        """Whether a plugin serves ``/people/<network>:<account>`` (others link to it then)."""
        self.styles: set[str] = set()
        """Inline style blocks allowed by hash (the minutes files' own)."""
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.app.router.add_get("/", self._home)
        self.app.router.add_get("/api/openapi.json", self._openapi)
        self.app.router.add_static("/static/", STATIC, append_version=False)

    # what plugins use

    def add(self, path: str, handler: Handler, *, name: str | None = None) -> None:
        """Serve GET (and HEAD) ``path`` with ``handler``."""
        self.app.router.add_get(path, handler, name=name)

    def section(self, title: str, path: str) -> None:
        self.sections.append((title, path))

    def templates(self, prefix: str, folder: Path) -> None:
        """Templates of a plugin, named ``prefix:file.html``."""
        self._template_folders[prefix] = folder
        if "env" in self.__dict__:  # a page was served already
            import jinja2

            self._loaders[prefix] = jinja2.FileSystemLoader(folder)

    @cached_property
    def env(self) -> jinja2.Environment:
        """The template engine, loaded at the first page: a bot nobody browses does not carry
        it (Jinja2 is about 1 MiB of a resting bot)."""
        import jinja2

        self._loaders: dict[str, jinja2.BaseLoader] = {
            prefix: jinja2.FileSystemLoader(folder)
            for prefix, folder in self._template_folders.items()
        }
        env = jinja2.Environment(
            loader=jinja2.PrefixLoader(self._loaders, delimiter=":"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        env.globals["site"] = self
        return env

    def api(self, fragment: Path) -> None:
        """Add a plugin's OpenAPI fragment (YAML with ``paths`` and ``components.schemas``)."""
        data = yaml.safe_load(fragment.read_text(encoding="utf-8")) or {}
        self.openapi["paths"].update(data.get("paths", {}))
        self.openapi["components"]["schemas"].update(data.get("components", {}).get("schemas", {}))

    def page(
        self, request: web.Request, template: str, *, status: int = 200, **context: Any
    ) -> web.Response:
        html = self.env.get_template(template).render(request=request, **context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def url(self, path: str) -> str:
        """The public URL of a path of the site (for links the bot posts)."""
        return self.config.url(path, self.port)

    def mount(self, plugin: str, paths: tuple[str, ...]) -> PluginSite:
        """A plugin's part of the site: the ``paths`` it declared, and the same under /api."""
        return PluginSite(self, plugin, paths)

    @property
    def base_url(self) -> str:
        return self.config.public_base(self.port)

    # serving

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        sockets = site._server.sockets if site._server is not None else ()  # type: ignore[attr-defined]
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port
        log.info("web site at %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def csp(self) -> str:
        styles = " ".join(["'self'", *sorted(self.styles)])
        return (
            "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
            f"style-src {styles}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )

    @web.middleware
    async def _frame(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = self._error(request, error.status, error.reason)
        except Exception:
            log.exception("web page %s failed", request.path)
            response = self._error(request, 500, "Something went wrong")
        if not response.prepared:
            secure(response.headers, self.csp())
        return response

    def _error(self, request: web.Request, status: int, reason: str) -> web.Response:
        """An error as a page, or as JSON (``{"error": ...}``) under ``/api/``."""
        if request.path.startswith("/api/"):
            return web.json_response({"error": reason}, status=status)
        return self.page(request, "opsbot:error.html", status=status, reason=reason)

    async def _home(self, request: web.Request) -> web.Response:
        return self.page(request, "opsbot:home.html")

    async def _openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self.openapi)


MAX_ID = 2**63 - 1
"""The largest ID a database column holds: a larger one is no ID."""


def whole_number(text: str | None, what: str, *, low: int = 1, high: int = MAX_ID) -> int:
    """A number from a URL (path or query) within bounds, or a 400 saying what is expected;
    never a 500 because SQLite or PostgreSQL cannot hold it."""
    if text is None or not text.isdigit() or not low <= int(text) <= high:
        raise web.HTTPBadRequest(reason=f"{what} is a whole number from {low} to {high}")
    return int(text)


def since_and_limit(
    query: Mapping[str, str], default: int = 100, most: int = 1000
) -> tuple[datetime | None, int]:
    """An API request's ``since`` (YYYY-MM-DD, as the start of that day UTC) and ``limit``
    (at most ``most``); a malformed one is a 400 that says what is expected."""
    try:
        since = None
        if query.get("since"):
            since = datetime.combine(date.fromisoformat(query["since"]), time(), UTC)
    except ValueError:
        raise web.HTTPBadRequest(reason="since is YYYY-MM-DD") from None
    return since, min(whole_number(query.get("limit", str(default)), "limit"), most)


def secure(headers: MutableMapping[str, str], csp: str) -> None:
    """Security headers every response carries."""
    headers["Content-Security-Policy"] = csp
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"


class PluginSite:
    """What one plugin may do on the site (:class:`opsbot.services.Site`): serve its own paths
    (each declared path, what lies below it, and the same under ``/api``), add its templates
    (named ``<plugin>:file.html``), navigation and OpenAPI fragment."""

    def __init__(self, site: Web, plugin: str, paths: tuple[str, ...]) -> None:
        self._site = site
        self._plugin = plugin
        self._paths = tuple(paths) + tuple("/api" + path for path in paths)

    def _owns(self, path: str) -> bool:
        for own in self._paths:
            base = own.rstrip("/")
            if path in (own, base) or path.startswith(base + "/"):
                return True
        return False

    def add(self, path: str, handler: Handler, *, name: str | None = None) -> None:
        if not self._owns(path):
            owned = ", ".join(self._paths) or "none (the plugin declares no web_paths)"
            raise ValueError(f"plugin {self._plugin} may not serve {path}; its paths: {owned}")
        self._site.add(path, handler, name=name)

    def section(self, title: str, path: str) -> None:
        self._site.section(title, path)

    def templates(self, folder: Path) -> None:
        self._site.templates(self._plugin, folder)

    def api(self, fragment: Path) -> None:
        self._site.api(fragment)

    def page(
        self, request: web.Request, template: str, *, status: int = 200, **context: Any
    ) -> web.Response:
        return self._site.page(request, template, status=status, **context)

    def url(self, path: str) -> str:
        return self._site.url(path)

    @property
    def person_pages(self) -> bool:
        return self._site.person_pages

    def serve_person_pages(self) -> None:
        self._site.person_pages = True

    def allow_style(self, css_hash: str) -> None:
        self._site.styles.add(css_hash)

    @property
    def csp(self) -> str:
        return self._site.csp()

    def on_cleanup(self, callback: Callable[[web.Application], Awaitable[None]]) -> None:
        self._site.app.on_shutdown.append(callback)
