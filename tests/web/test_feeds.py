"""The Atom feeds, read with a real feed parser (feedparser): ids, updated times and links;
restricted meetings and people who left the leaderboards never in them; ETag and 304."""

from __future__ import annotations

import asyncio

import aiohttp
import feedparser

from tests.web.site import SiteFactory, base, meeting


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[feedparser.FeedParserDict, str]:
    async with http.get(url) as answer:
        assert answer.status == 200, await answer.text()
        assert answer.content_type == "application/atom+xml"
        etag = answer.headers["ETag"]
        parsed = feedparser.parse(await answer.read())
    assert not parsed.bozo, parsed.bozo_exception
    return parsed, etag


async def test_the_meeting_feeds_parse_with_ids_times_links_and_no_restricted_meeting(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    await meeting(bot, restricted=True)
    await meeting(bot, name="Large Scale SIG")
    url = base(bot)

    every, _ = await fetch(http, f"{url}/meetings/feed.atom")
    assert every.version == "atom10"
    assert every.feed.title == "Meetings"
    assert every.feed.id == f"{url}/meetings/feed.atom"
    assert [e.title.split(" meeting ")[0] for e in every.entries] == [
        "large_scale_sig",
        "ops_meetup_team",
    ]
    first = every.entries[1]
    assert first.id.startswith("tag:127.0.0.1,20") and first.id.endswith(":meetings/1")
    assert first.link.startswith(f"{url}/meetings/ops_meetup_team/20")
    assert first.link.endswith(".html") and first.updated_parsed is not None
    assert "bob to file the nova bug" in first.content[0].value
    assert every.feed.updated_parsed == max(e.updated_parsed for e in every.entries)
    async with http.get(first.link) as minutes:
        assert minutes.status == 200

    series, _ = await fetch(http, f"{url}/meetings/ops_meetup_team/feed.atom")
    assert [e.id for e in series.entries] == [first.id]  # the restricted one is not there
    assert series.feed.links[0].href == f"{url}/meetings/ops_meetup_team/"
    async with http.get(f"{url}/meetings/nothing_here/feed.atom") as missing:
        assert missing.status == 404


async def test_an_unchanged_feed_is_answered_304_and_a_changed_one_is_not(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    url = f"{base(bot)}/meetings/feed.atom"
    _, etag = await fetch(http, url)
    async with http.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status == 304 and again.headers["ETag"] == etag
        assert await again.read() == b""
    await meeting(bot, name="Large Scale SIG")
    async with http.get(url, headers={"If-None-Match": etag}) as changed:
        assert changed.status == 200 and changed.headers["ETag"] != etag


async def test_the_action_feed_of_a_person_and_nobody_who_left_the_leaderboards(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    irc = bot.irc
    await irc.say("alice", "#startmeeting Ops Meetup Team")
    await irc.say("carol", "hi")
    await irc.say("alice", "#action carol to write the upgrade notes")
    await irc.say("alice", "#endmeeting")
    url = base(bot)

    bobs, _ = await fetch(http, f"{url}/actions/feed.atom?owner=bob")
    assert [e.title for e in bobs.entries] == ["bob to file the nova bug"]
    entry = bobs.entries[0]
    assert entry.id.endswith(":actions/1") and "#l-" in entry.link
    assert entry.content[0].value.startswith("Open. Owners: bob.")
    everyone, _ = await fetch(http, f"{url}/actions/feed.atom")
    assert len(everyone.entries) == 2

    await irc.say("bob", "!kudos optout")
    await asyncio.sleep(0.05)
    hidden, _ = await fetch(http, f"{url}/actions/feed.atom?owner=bob")
    assert hidden.entries == []
    everyone, _ = await fetch(http, f"{url}/actions/feed.atom")
    assert [e.title for e in everyone.entries] == ["carol to write the upgrade notes"]
    meetings, _ = await fetch(http, f"{url}/meetings/feed.atom")
    assert "bob" not in "".join(e.content[0].value for e in meetings.entries)
