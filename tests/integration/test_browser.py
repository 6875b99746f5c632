"""The web site in a real browser: Debian's Chromium, headless, driven by Playwright.

Follow the archive from the index to the minutes and from an action item to its line in the log;
search and follow a hit; see the chart on a person's page; watch the live page receive a line; and
a meeting whose topic, nick and items carry script and onerror payloads shows them as text and
runs nothing. Screenshots of the main pages are saved in test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.web.site import SiteFactory, base, meeting

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
HOSTILE_NICK = "<img/src=x/onerror=alert(3)>"


def chromium() -> str:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make servers` installs Debian's chromium")
    return str(CHROMIUM)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=ARGS
        )
        yield found
        await found.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    opened = await context.new_page()
    dialogs: list[str] = []
    opened.on(
        "dialog",
        lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())),
    )
    opened.dialogs = dialogs  # type: ignore[attr-defined]
    yield opened
    await context.close()
    assert dialogs == [], f"a script ran: {dialogs}"


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_follow_the_archive_search_and_a_persons_chart(
    site_bot: SiteFactory, page: Page
) -> None:
    bot = await site_bot()
    await meeting(bot)
    await bot.irc.say("alice", "!kudos bob #rootcause for bisecting the scheduler bug")
    url = base(bot)

    await page.goto(url + "/")
    await shot(page, "home")
    await page.click("text=Meetings")
    await page.click("text=ops_meetup_team")
    await page.click(".years a")
    await shot(page, "meetings-year")
    await page.click("a.minutes")
    assert page.url.endswith(".html") and "/meetings/ops_meetup_team/" in page.url
    await shot(page, "minutes")
    # an action item's time links to its line in the log
    await page.click("li:has-text('bob to file the nova bug') >> a[href*='.log.html#l-']")
    assert ".log.html#l-" in page.url
    anchor = page.url.rsplit("#", 1)[1]
    target = page.locator(f"[id='{anchor}']")
    assert "#action bob to file the nova bug" in await target.inner_text()
    assert await target.evaluate("e => e.matches(':target')")
    await shot(page, "log")

    await page.goto(url + "/")  # the minutes files are MeetBot's own pages, without the site's menu
    await page.click("nav >> text=Search")
    await page.fill("input[name=q]", "placement")
    await page.click("button[type=submit]")
    await shot(page, "search")
    assert await page.locator("mark").first.inner_text() == "placement"
    await page.click("a.hit >> nth=0")
    anchor = page.url.rsplit("#", 1)[1]
    assert "placement" in await page.locator(f"[id='{anchor}']").inner_text()

    await page.goto(url + "/people/irc:bob")
    chart = page.locator("svg#activity")
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert await chart.locator("rect.attended").count() == 1
    assert await chart.locator("rect.kudos").count() == 1
    assert await chart.locator("rect.kudos").evaluate("r => getComputedStyle(r).fill") != "none"
    await shot(page, "person")
    await page.goto(url + "/kudos")
    await shot(page, "kudos")
    assert "bob" in await page.locator("ol.board").inner_text()


async def test_the_live_page_receives_new_lines(site_bot: SiteFactory, page: Page) -> None:
    bot = await site_bot()
    irc = bot.irc
    await irc.say("alice", "#startmeeting ops")
    await irc.say("bob", "first")
    live = next(iter(bot.bot.plugins["meetings"].live.values()))  # type: ignore[attr-defined]
    await page.goto(f"{base(bot)}/meetings/live/{live.id}")
    await asyncio.sleep(0.3)  # the page's event source connects
    await irc.say("carol", "a line said <script>alert(1)</script> after the page loaded")
    said = page.locator("#live li", has_text="after the page loaded")
    await said.wait_for(timeout=5000)
    assert "<script>alert(1)</script>" in await said.inner_text()
    await shot(page, "live")
    await irc.say("alice", "#endmeeting")
    await page.locator("#live-state", has_text="has ended").wait_for(timeout=5000)
    assert await page.locator("#live script").count() == 0


async def test_hostile_text_is_shown_as_text_and_runs_nothing(
    site_bot: SiteFactory, page: Page
) -> None:
    bot = await site_bot()
    irc = bot.irc
    await irc.say("alice", "#startmeeting xss")
    await irc.say("alice", '#topic <script>alert("topic")</script>')
    await irc.say(HOSTILE_NICK, "hello <img src=x onerror=alert(1)>")
    await irc.say("alice", '#info <svg onload=alert(2)> "><script>alert(4)</script>')
    await irc.say("alice", f"#action {HOSTILE_NICK} to <b onmouseover=alert(5)>fix</b> it")
    await irc.say("alice", "#link javascript:alert(6)")
    await irc.say("alice", "#endmeeting")
    url = base(bot)
    pages = {"minutes": "", "log": ".log"}
    await page.goto(f"{url}/meetings/xss/latest")
    minutes_url = page.url
    for name, suffix in pages.items():
        await page.goto(minutes_url.replace(".html", f"{suffix}.html"))
        await shot(page, f"hostile-{name}")
        body = await page.locator("body").inner_text()
        assert '<script>alert("topic")</script>' in body
        assert "<svg onload=alert(2)>" in body
        assert await page.locator("script").count() == 0, "no script element was injected"
        assert await page.locator("img, svg, b[onmouseover]").count() == 0
        await page.mouse.move(10, 10)
    await page.goto(f"{url}/search?q=onerror")
    assert await page.locator("img").count() == 0
    assert "onerror" in await page.locator("ol.hits").inner_text()
    javascript_links = await page.locator("a[href^='javascript:']").count()
    assert javascript_links == 0
    await page.goto(minutes_url)
    assert await page.locator("a[href^='javascript:']").count() == 0, "no javascript: links"


async def test_a_series_page_offers_its_feed_and_chromium_opens_it(
    site_bot: SiteFactory, page: Page
) -> None:
    bot = await site_bot()
    await meeting(bot)
    await page.goto(base(bot) + "/meetings/ops_meetup_team/")
    link = page.locator("link[rel=alternate][type='application/atom+xml']")
    href = await link.get_attribute("href")
    assert href == "/meetings/ops_meetup_team/feed.atom"
    answer = await page.goto(base(bot) + href)
    assert answer is not None and answer.status == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    shown = await page.content()
    assert "bob to file the nova bug" in shown and "tag:127.0.0.1," in shown
    await shot(page, "feed")
