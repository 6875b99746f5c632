"""The web site over HTTP: the archive in MeetBot's layout, restricted meetings and opted-out
people never shown, search on SQLite and PostgreSQL, the JSON API and its OpenAPI description,
the live page's server-sent events, and security headers on every response."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest
from icalendar import Calendar

from opsbot.bot import Bot, StartupError
from opsbot.events import Edit, Redaction
from opsbot.testing import memory_config
from tests.plugins.kudos.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL)

from .site import SiteFactory, base, meeting

HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
)


def assert_secure(response: aiohttp.ClientResponse) -> None:
    for header in HEADERS:
        assert header in response.headers, header
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp


async def test_the_archive_in_meetbots_layout(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    url = base(bot)
    async with http.get(f"{url}/meetings/") as index:
        assert index.status == 200
        assert_secure(index)
        assert 'href="/meetings/ops_meetup_team/"' in await index.text()
    async with http.get(f"{url}/meetings/ops_meetup_team/") as by_name:
        text = await by_name.text()
        [year] = set(re.findall(r'href="/meetings/ops_meetup_team/(\d{4})/"', text))
    async with http.get(f"{url}/meetings/ops_meetup_team/{year}/") as by_year:
        listed = await by_year.text()
    minutes = listed.split('class="minutes" href="')[1].split('"')[0]
    assert minutes.startswith(f"/meetings/ops_meetup_team/{year}/ops_meetup_team.{year}-")
    assert minutes.endswith(".html")
    async with http.get(url + minutes) as page:
        assert page.status == 200
        assert_secure(page)
        html = await page.text()
        assert "bob to file the nova bug" in html and ".log.html#l-" in html
        # the minutes' own stylesheet is allowed by its hash, nothing else inline
        assert "'sha256-" in page.headers["Content-Security-Policy"]
    stem = minutes.removesuffix(".html")
    for extension, kind in (
        (".txt", "text/plain"),
        (".log.html", "text/html"),
        (".log.txt", "text/plain"),
    ):
        async with http.get(url + stem + extension) as file:
            assert file.status == 200 and file.content_type == kind, extension
    async with http.get(f"{url}/meetings/ops_meetup_team/latest", allow_redirects=False) as latest:
        assert latest.status == 302 and latest.headers["Location"] == minutes
    for missing in (
        f"{stem}.exe",
        "/meetings/ops_meetup_team/1999/ops_meetup_team.1999-01-01-10.00.html",
        "/meetings/nothing/",
        "/meetings/ops_meetup_team/%2e%2e/%2e%2e/opsbot.db.html",
    ):
        async with http.get(url + missing) as gone:
            assert gone.status == 404, missing
            assert_secure(gone)
    async with http.post(f"{url}/meetings/") as post:
        assert post.status == 405, "the site is read-only"
        assert_secure(post)


async def test_restricted_meetings_are_never_shown(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot, "secret sync", restricted=True)
    url = base(bot)
    async with http.get(f"{url}/meetings/") as index:
        assert "secret_sync" not in await index.text()
    async with http.get(f"{url}/meetings/secret_sync/") as by_name:
        assert by_name.status == 404
    async with http.get(f"{url}/search?q=placement") as found:
        assert "Nothing found" in await found.text()
    async with http.get(f"{url}/api/meetings") as api:
        assert await api.json() == []
    async with http.get(f"{url}/api/actions") as actions:
        assert await actions.json() == []
    files = list((bot.bot.plugins["meetings"].config.output_dir).rglob("secret_sync*.html"))  # type: ignore[attr-defined]
    assert files, "the files exist on disk"
    relative = files[0].relative_to(bot.bot.plugins["meetings"].config.output_dir)  # type: ignore[attr-defined]
    async with http.get(f"{url}/meetings/{relative}") as file:
        assert file.status == 404
    async with http.get(f"{url}/api/people/irc:bob") as person:
        record = await person.json()
    assert record["meetings_attended"] == 1, "a restricted meeting still counts"
    assert "secret" not in json.dumps(record["evidence"]), "but is never named"
    async with http.get(f"{url}/people/irc:bob") as page:
        assert "secret" not in await page.text()


async def test_search_with_filters(
    site_bot: SiteFactory,
    http: aiohttp.ClientSession,
    database_url: str,  # noqa: F811
) -> None:
    bot = await site_bot(database_url)
    await meeting(bot)
    await meeting(bot, "Large Scale SIG")
    url = base(bot)

    async def hits(query: str) -> list[str]:
        async with http.get(f"{url}/search?{query}") as page:
            assert page.status == 200
            text = await page.text()
        return [part.split('"')[0] for part in text.split('class="hit" href="')[1:]]

    both = await hits("q=nova+bug")
    assert len(both) == 4, "two lines in each meeting say nova and bug"
    assert all(".log.html#l-" in h for h in both)
    assert len(await hits("q=nova&name=large_scale_sig")) == 2
    assert len(await hits("q=nova&person=bob")) == 2, "bob said it once in each meeting"
    assert await hits("q=nova&from=2000-01-01&to=2000-12-31") == []
    assert await hits("q=doesnotoccur") == []
    assert len(await hits("q=%22nova%22+%2A+%28")) == 4, "quotes, stars, brackets: no syntax"
    async with http.get(f"{url}/search?q=nova&from=yesterday") as bad:
        assert "Dates are YYYY-MM-DD." in await bad.text()
    async with http.get(f"{url}/search?q=bisected") as marked:
        assert "<mark>bisected</mark>" in await marked.text()


def log_pages(folder: Path) -> list[Path]:
    return list(folder.rglob("*.log.html"))


async def test_redacted_lines_are_gone_from_search_api_live_page_and_minutes(
    site_bot: SiteFactory,
    http: aiohttp.ClientSession,
    database_url: str,  # noqa: F811
) -> None:
    bot = await site_bot(database_url)
    mx = bot.matrix
    room = mx.transport.room(mx.room)
    url = base(bot)
    await mx.say("alice", "#startmeeting redactions")
    said = await mx.transport.say("bob", "oops, my db password is hunter2", id="$pw")
    await mx.transport.say("bob", "#info the cell db password is hunter2 too", id="$info")
    await mx.transport.say("bob", "#info the old text of a line", id="$typo")
    live = bot.bot.plugins["meetings"].live[room.key]  # type: ignore[attr-defined]
    for target in ("$pw", "$info"):
        await mx.transport.deliver(
            Redaction(
                network="matrix", room=room, sender=said.sender, target_id=target, id=f"$r{target}"
            )
        )
    await mx.transport.deliver(
        Edit(network="matrix", room=room, sender=said.sender, target_id="$typo",
             text="#info the new text of a line", id="$e")
    )  # fmt: skip
    async with http.get(f"{url}/meetings/live/{live.id}") as page:
        text = await page.text()
    assert "hunter2" not in text and "[message removed]" in text
    assert "the old text" not in text and "the new text of a line" in text
    await mx.say("alice", "#endmeeting")
    await bot.bot.plugins["meetings"].store.writer.flush()  # type: ignore[attr-defined]
    for query in ("hunter2", "old+text"):
        async with http.get(f"{url}/search?q={query}") as page:
            assert 'class="hit"' not in await page.text(), query
    async with http.get(f"{url}/search?q=new+text") as page:
        assert 'class="hit"' in await page.text()
    async with http.get(f"{url}/api/meetings/{live.id}") as response:
        detail = await response.text()
    assert "hunter2" not in detail and "the old text" not in detail
    texts = [line["text"] for line in json.loads(detail)["lines"]]
    assert "[message removed]" in texts and "#info the new text of a line" in texts
    # A line redacted after the meeting ended: gone from the files and the search as well.
    [minutes] = log_pages(Path(bot.bot.plugins["meetings"].config.output_dir))
    assert "the new text of a line" in minutes.read_text()
    await mx.transport.deliver(
        Redaction(network="matrix", room=room, sender=said.sender, target_id="$typo", id="$r3")
    )
    for _ in range(100):
        if "the new text of a line" not in minutes.read_text():
            break
        await asyncio.sleep(0.05)
    assert "the new text of a line" not in minutes.read_text()
    async with http.get(f"{url}/search?q=new+text") as page:
        assert 'class="hit"' not in await page.text()


async def test_json_api_and_openapi(site_bot: SiteFactory, http: aiohttp.ClientSession) -> None:
    bot = await site_bot()
    await meeting(bot)
    irc = bot.irc
    await irc.say("alice", "!kudos bob #rootcause for https://bugs.launchpad.net/nova/+bug/2045678")
    url = base(bot)
    async with http.get(f"{url}/api/meetings") as response:
        assert_secure(response)
        [found] = await response.json()
    assert found["name"] == "ops_meetup_team" and found["minutes"].endswith(".html")
    async with http.get(f"{url}/api/meetings/{found['id']}") as response:
        detail = await response.json()
    assert [a["text"] for a in detail["actions"]] == ["bob to file the nova bug"]
    assert any("placement" in line["text"] for line in detail["lines"])
    async with http.get(f"{url}/api/actions?owner=bob") as response:
        [action] = await response.json()
    assert action["state"] == "open"
    seq = int(action["anchor"].rsplit("#l-", 1)[1])
    [said] = [line["text"] for line in detail["lines"] if line["seq"] == seq]
    assert said == "#action bob to file the nova bug", "the anchor is the line that made it"
    async with http.get(f"{url}/api/actions?state=nonsense") as response:
        assert response.status == 400
    for bad in ("/api/meetings?limit=lots", "/api/kudos?since=yesterday", "/api/meetings?limit=0"):
        async with http.get(url + bad) as response:
            assert response.status == 400, bad
            assert_secure(response)
            assert "error" in await response.json(), "API errors are JSON"
    async with http.get(f"{url}/api/meetings?since=2000-01-01&limit=1") as response:
        assert len(await response.json()) == 1
    async with http.get(f"{url}/api/kudos") as response:
        [kudos] = await response.json()
    assert (kudos["receiver"], kudos["category"], kudos["receiver_id"]) == (
        "bob",
        "rootcause",
        "irc:bob",
    )
    assert kudos["evidence"][0]["link"].endswith("+bug/2045678")
    async with http.get(f"{url}/api/people/irc:bob") as response:
        record = await response.json()
    assert (record["meetings_attended"], record["action_items"], record["kudos"]) == (
        1,
        1,
        {"rootcause": 1},
    )
    async with http.get(f"{url}/api/people/irc:nobody") as response:
        assert response.status == 404
    async with http.get(f"{url}/api/openapi.json") as response:
        spec = await response.json()
    assert set(spec["paths"]) == {
        "/api/meetings", "/api/meetings/{id}", "/api/actions", "/api/kudos", "/api/people/{id}"
    }  # fmt: skip
    assert {"Meeting", "Action", "Kudos", "Record"} <= set(spec["components"]["schemas"])
    refs = json.dumps(spec).count("#/components/schemas/")
    assert refs >= 5
    async with http.get(f"{url}/calendar.ics") as response:
        assert response.content_type == "text/calendar"
        [event] = Calendar.from_ical(await response.read()).walk("VEVENT")
    assert str(event["summary"]) == "Operators Meetup Team (ops_meetup_team)"


async def test_numbers_out_of_any_range_and_every_method_answer_with_the_headers(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    url = base(bot)
    huge = "99999999999999999999"
    for bad, reason in [
        (f"/search?q=placement&page={huge}", "page is a whole number from 1 to 10000"),
        ("/search?q=placement&page=-1", "page is a whole number"),
        (f"/api/meetings/{huge}", "a meeting's ID is a whole number"),
        (f"/api/meetings?limit={huge}", "limit is a whole number"),
    ]:
        async with http.get(url + bad) as response:
            assert response.status == 400, bad
            assert_secure(response)
            body = await response.text()
            assert reason in body, (bad, body)
    for method in ("HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"):
        for path in ("/", "/meetings/", "/api/meetings", "/nowhere"):
            async with http.request(method, url + path) as response:
                assert_secure(response)
                assert response.status in (200, 404, 405), (method, path, response.status)


async def test_people_who_opted_out_are_never_shown(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    irc = bot.irc
    await irc.say("alice", "!kudos bob #rootcause for the bisect")
    await irc.say("bob", "!kudos carol #review for the review")
    url = base(bot)
    async with http.get(f"{url}/people/irc:bob") as page:
        assert page.status == 200 and '<svg class="chart"' in await page.text()
    await irc.say("bob", "!kudos optout")
    await asyncio.sleep(0.05)
    async with http.get(f"{url}/people/irc:bob") as page:
        assert page.status == 404
    async with http.get(f"{url}/people/") as page:
        listing = await page.text()
    assert "/people/irc:bob" not in listing and "/people/irc:alice" in listing
    async with http.get(f"{url}/kudos") as page:
        board = await page.text()
    assert ">bob<" not in board and ">carol</a> (1)" in board
    async with http.get(f"{url}/api/kudos") as response:
        kudos = await response.json()
    assert [(k["giver"], k["receiver"]) for k in kudos] == [("someone", "carol")]


async def test_people_once_nicks_told_apart_and_the_latest_reasons(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)  # on IRC: alice chairs, bob and carol speak
    irc, mx = bot.irc, bot.matrix
    await mx.say("bob", "o/")  # another bob, on Matrix
    await mx.say("zed", "o/")
    await irc.say("alice", "!kudos bob #rootcause for https://bugs.launchpad.net/nova/+bug/1")
    await mx.say("zed", "!kudos bob #review for the careful spec review")
    await irc.say("alice", "!kudos carol #review for the upgrade notes")
    url = base(bot)
    async with http.get(f"{url}/kudos") as page:
        board = await page.text()
    # two people called bob: each shown with who they are
    assert "irc:bob</span>" in board and "matrix:@bob:example.org</span>" in board
    assert "carol</a> (1)" in board and "irc:carol</span>" not in board
    latest = board.split("Latest kudos", 1)[1]
    assert "the careful spec review" in latest and "the upgrade notes" in latest
    assert 'href="https://bugs.launchpad.net/nova/+bug/1"' in latest
    await bot.bot.people.link(("irc", "carol"), ("matrix", "@carol:example.org"), by="test")
    await mx.say("carol", "o/")
    await mx.say("zed", "!kudos carol #review for more notes")
    await bot.bot.plugins["records"].flush()  # type: ignore[attr-defined]
    async with http.get(f"{url}/people/") as page:
        listing = await page.text()
    assert listing.count(">carol</a>") == 1, "linked identities are one person"


async def test_the_live_page_streams_new_lines_and_the_end(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    irc = bot.irc
    await irc.say("alice", "#startmeeting ops")
    await irc.say("bob", "first")
    url = base(bot)
    live = next(iter(bot.bot.plugins["meetings"].live.values()))  # type: ignore[attr-defined]
    meeting_id, seen = live.id, live.meeting.lines[-1].seq
    async with http.get(f"{url}/meetings/live/{meeting_id}") as page:
        assert page.status == 200 and 'src="/static/live.js"' in await page.text()
    async with http.get(f"{url}/meetings/live/{meeting_id}/events?after={seen}") as stream:
        assert stream.content_type == "text/event-stream"
        assert_secure(stream)
        await irc.say("bob", "a <b>new</b> line")
        await irc.say("alice", "#endmeeting")
        received = (await asyncio.wait_for(stream.content.read(), 5)).decode()
    events = [block for block in received.split("\n\n") if block.strip()]
    lines = [json.loads(b.split("data: ", 1)[1]) for b in events if "event: line" in b]
    assert [line["text"] for line in lines][:1] == ["a <b>new</b> line"]
    assert all(line["seq"] > seen for line in lines), "nothing seen before is sent again"
    assert events[-1].startswith("event: end")
    async with http.get(f"{url}/meetings/live/{meeting_id}") as ended:
        assert ended.status == 404


async def test_the_site_is_optional_and_a_taken_port_is_reported(tmp_path: Path) -> None:
    quiet = Bot(memory_config(tmp_path / "a.db", ("core",)))
    assert quiet.web is None
    first = Bot(memory_config(tmp_path / "b.db", ("core",), {"web": {"enabled": True}}))
    await first.start()
    assert first.web is not None and first.web.port
    taken = f"127.0.0.1:{first.web.port}"
    second = Bot(
        memory_config(tmp_path / "c.db", ("core",), {"web": {"enabled": True, "listen": taken}})
    )
    with pytest.raises(StartupError, match=f"cannot serve the web site on {taken}"):
        await second.start()
    await first.stop()
