"""Kudos on the bot's web site: ``/kudos``, the leaderboard by category and period, and
``/api/kudos``, the standing kudos with their evidence. People who opted out of the public
leaderboards are never shown: not as receivers, and a giver who opted out is "someone"."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from opsbot.events import utcnow
from opsbot.web import since_and_limit

from .models import Kudos
from .store import Ranked

if TYPE_CHECKING:
    from opsbot.services import Site


class KudosReads(Protocol):
    """What the pages read of the kudos (the plugin's store answers it; nothing here writes)."""

    async def top(
        self,
        category: str | None,
        since: datetime | None,
        categories: Sequence[str],
        limit: int = ...,
    ) -> list[Ranked]: ...

    async def public_kudos(
        self,
        *,
        category: str | None,
        receiver: str | None,
        since: datetime | None,
        limit: int,
    ) -> Sequence[Kudos]: ...


PERIODS = {"7d": 7, "30d": 30, "12m": 365, "all": None}
LATEST = 10
"""Kudos shown with their reasons under the board."""
BOARD_SECONDS = 60.0


class KudosSite:
    def __init__(
        self,
        kudos: KudosReads,
        categories: Mapping[str, str],
        hidden: Callable[[], set[tuple[str, str]]],
        site: Site,
    ) -> None:
        """``hidden``: who left the public leaderboards (a giver among them is "someone")."""
        self.kudos = kudos
        self.hidden = hidden
        self.categories = categories
        self.site = site
        self._boards: dict[tuple[str | None, str], tuple[float, list[Ranked]]] = {}
        site.templates(Path(__file__).parent / "templates")
        site.section("Kudos", "/kudos")
        site.add("/kudos", self.board)
        site.add("/api/kudos", self.api)
        site.api(Path(__file__).parent / "openapi.yaml")

    async def board(self, request: web.Request) -> web.Response:
        categories = self.categories
        category = request.query.get("category") or None
        period = request.query.get("period", "all")
        if (category is not None and category not in categories) or period not in PERIODS:
            raise web.HTTPNotFound(reason="No such category or period")
        ranked = await self._ranked(category, period)
        nicks = Counter(person.nick.casefold() for person in ranked)
        return self.site.page(
            request,
            "kudos:board.html",
            categories=categories,
            category=category,
            period=period,
            periods=list(PERIODS),
            ranked=ranked,
            shared={nick for nick, n in nicks.items() if n > 1},
            latest=await self._standing(category=category, limit=LATEST),
        )

    async def _ranked(self, category: str | None, period: str) -> list[Ranked]:
        """The board; one over a period is counted at most once a minute (it counts every kudos
        in the period: a year of a busy community takes a while)."""
        days = PERIODS[period]
        if days is None:  # all time: kept as running totals, always fresh
            return await self.kudos.top(category, None, list(self.categories), 25)
        now = time.monotonic()
        cached = self._boards.get((category, period))
        if cached is None or now - cached[0] > BOARD_SECONDS:
            since = utcnow() - timedelta(days=days)
            ranked = await self.kudos.top(category, since, list(self.categories), 25)
            cached = self._boards[(category, period)] = (now, ranked)
        return cached[1]

    async def api(self, request: web.Request) -> web.Response:
        query = request.query
        since, limit = since_and_limit(query)
        return web.json_response(
            await self._standing(
                category=query.get("category") or None,
                receiver=query.get("receiver") or None,
                since=since,
                limit=limit,
            )
        )

    async def _standing(
        self,
        *,
        category: str | None = None,
        receiver: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Standing kudos, newest first, with their reasons and evidence; none to people who
        opted out, and a giver who opted out is "someone"."""
        rows = await self.kudos.public_kudos(
            category=category, receiver=receiver, since=since, limit=limit
        )
        hidden = self.hidden()
        return [
            {
                "id": row.id,
                "ts": row.ts.isoformat(),
                "giver": "someone"
                if (row.giver_network, row.giver_key) in hidden
                else row.giver_nick,
                "receiver": row.receiver_nick,
                "receiver_id": f"{row.receiver_network}:{row.receiver_key}",
                "category": row.category,
                "reason": row.reason,
                "evidence": [
                    {"kind": e.get("kind"), "link": e.get("ref") or e.get("link")}
                    for e in row.evidence
                ],
            }
            for row in rows
        ]
