"""Contribution records on the bot's web site: ``/people/`` to find someone, ``/people/<id>``
(``network:account``) with a person's meetings, lines said, action items and kudos by category,
and a chart of their activity by month drawn on the server as SVG (no script, nothing fetched
from elsewhere); ``/api/people/<id>``. People who opted out of the public leaderboards have no
public page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from opsbot.events import utcnow
from opsbot.people import People

from .reads import RecordReads

if TYPE_CHECKING:
    from opsbot.services import Site


MONTHS = 24
LISTING_SECONDS = 60.0
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 180, 12, 30, 30


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    """(x, text) under the axis: every third month."""
    peak: int
    description: str


def months_back(now: datetime, count: int) -> list[str]:
    """``YYYY-MM`` of the last ``count`` months, oldest first, this one last."""
    year, month = now.year, now.month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def activity_chart(evidence: list[dict[str, Any]], now: datetime) -> Chart:
    """Meetings attended and kudos received per month over the last two years."""
    months = months_back(now, MONTHS)
    counts = {m: {"attended": 0, "kudos": 0} for m in months}
    for item in evidence:
        month = str(item["time"])[:7]
        if month in counts and item["kind"] in ("attended", "kudos"):
            counts[month][item["kind"]] += 1
    peak = max([1, *(n for c in counts.values() for n in c.values())])
    slot = (WIDTH - LEFT) / len(months)
    usable = HEIGHT - TOP - BOTTOM
    bars, labels = [], []
    for i, month in enumerate(months):
        for j, kind in enumerate(("attended", "kudos")):
            n = counts[month][kind]
            if n:
                height = usable * n / peak
                bars.append(
                    Bar(
                        x=round(LEFT + i * slot + 2 + j * (slot - 4) / 2, 1),
                        y=round(TOP + usable - height, 1),
                        width=round((slot - 4) / 2, 1),
                        height=round(height, 1),
                        kind=kind,
                        label=f"{month}: {n} {'meetings' if kind == 'attended' else 'kudos'}",
                    )
                )
        if i % 3 == 0:
            labels.append((round(LEFT + i * slot, 1), month))
    total = {k: sum(c[k] for c in counts.values()) for k in ("attended", "kudos")}
    return Chart(
        WIDTH, HEIGHT, bars, labels, peak,
        f"{total['attended']} meetings attended and {total['kudos']} kudos received "
        f"in the last {MONTHS} months, by month",
    )  # fmt: skip


class PeopleSite:
    def __init__(
        self,
        reads: RecordReads,
        people: People,
        site: Site,
    ) -> None:
        self.reads = reads
        self.people = people
        self.site = site
        site.serve_person_pages()
        self._listed: tuple[float, list[Any]] | None = None
        site.templates(Path(__file__).parent / "templates")
        site.section("People", "/people/")
        site.add("/people/", self.index)
        site.add("/people/{id}", self.person)
        site.add("/api/people/{id}", self.api)
        site.api(Path(__file__).parent / "openapi.yaml")

    async def _found(self, request: web.Request) -> dict[str, Any]:
        network, _, account = request.match_info["id"].partition(":")
        if not network or not account:
            raise web.HTTPNotFound(reason="People are network:account")
        identities = await self.people.identities((network, account))
        if self.people.hidden(identities):
            raise web.HTTPNotFound(reason="No public record")
        found = await self.reads.record(identities, utcnow())
        if not found["evidence"]:
            raise web.HTTPNotFound(reason="No record for that person")
        # restricted meetings count in the totals; their names and links stay private
        found["evidence"] = [e for e in found["evidence"] if not e.get("private")]
        return found

    async def person(self, request: web.Request) -> web.Response:
        found = await self._found(request)
        meetings: dict[str, int] = {}
        for item in found["evidence"]:
            if item["kind"] == "attended":
                meetings[item["meeting"]] = meetings.get(item["meeting"], 0) + 1
        nick = request.match_info["id"].partition(":")[2]
        return self.site.page(
            request,
            "records:person.html",
            person=found,
            name=nick,
            meetings=sorted(meetings.items(), key=lambda m: -m[1]),
            chart=activity_chart(found["evidence"], utcnow()),
            recent=[e for e in reversed(found["evidence"]) if e["kind"] != "kudos"][:20],
        )

    async def api(self, request: web.Request) -> web.Response:
        return web.json_response(await self._found(request))

    async def _everyone(self) -> list[Any]:
        """(network, account, nick, entries) of the people with most entries, read at most
        once a minute: the count walks the whole ledger."""
        now = time.monotonic()
        if self._listed is None or now - self._listed[0] > LISTING_SECONDS:
            self._listed = (now, await self.reads.everyone())
        return self._listed[1]

    async def index(self, request: web.Request) -> web.Response:
        wanted = request.query.get("q", "").strip().casefold()
        groups = await self.people.groups()
        merged: dict[tuple[str, str], list[Any]] = {}
        for network, account, nick, n in await self._everyone():
            identities = groups.get((network, account), [(network, account)])
            if self.people.hidden(identities):
                continue
            person = merged.setdefault(identities[0], [nick, 0, ""])
            person[1] += n  # linked identities are one person, listed once
            person[2] += f" {account} {nick}"
        people = sorted(
            (
                (f"{network}:{account}", nick, n)
                for (network, account), (nick, n, names) in merged.items()
                if not wanted or wanted in names.casefold()
            ),
            key=lambda p: -p[2],
        )[:200]
        return self.site.page(request, "records:people.html", people=people, wanted=wanted)
