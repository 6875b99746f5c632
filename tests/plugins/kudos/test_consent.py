"""What opsbot keeps about a person, given to them (``!mydata``: a private link to a JSON
document, served by the site for an hour) and to admins (``opsbot people export``), and one
opt-out of every public page (``!optout``). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from opsbot.testing import TestBot, run_opsbot

from .conftest import KudosFactory

SITE = {"web": {"enabled": True, "listen": "127.0.0.1:0"}}


async def link_both_sides(bot: TestBot, nick: str) -> None:
    """``nick`` links their IRC account and Matrix ID with !link."""
    await bot.irc.say(nick, "!link")
    told = [s for s in bot.irc.transport.sent if s.to is not None][-1].text
    await bot.matrix.say(nick, f"!link {told.split()[2].rstrip(chr(39))}")


async def test_mydata_gives_a_person_everything_kept_about_them(
    kudos_bot: KudosFactory, tmp_path: Path, database_url: str
) -> None:
    bot = await kudos_bot(SITE)
    irc = bot.irc
    for nick in ("alice", "bob"):
        await irc.say(nick, "o/")
    await irc.say("bob", "!kudos alice #rootcause for the bisect")
    await irc.say("alice", "!kudos bob for the review")
    await link_both_sides(bot, "alice")
    await irc.say("alice", "!optout")

    assert (await irc.say("alice", "!mydata"))[-1] == "I sent it to you privately."
    told = [s for s in irc.transport.sent if s.to is not None and s.to.nick == "alice"][-1]
    assert told.text.startswith("Everything opsbot keeps about you (JSON), for an hour: http")
    url = told.text.rsplit(" ", 1)[1]
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as got:
            assert got.status == 200 and got.headers["Cache-Control"] == "no-store"
            mine = await got.json()
        async with http.get(url.rsplit("/", 1)[0] + "/guessed") as guessed:
            assert guessed.status == 404
    assert mine["identities"] == ["irc:alice", "matrix:@alice:example.org"]
    assert [p["name"] for p in mine["preferences"]] == ["leaderboards"]
    assert [k["reason"] for k in mine["kudos"]["received"]] == ["the bisect"]
    assert [k["reason"] for k in mine["kudos"]["given"]] == ["the review"]
    assert "bob" not in json.dumps(mine["identities"])

    await bot.bot.stop()
    config = tmp_path / "cli.yaml"
    config.write_text(
        f"database: {{url: '{database_url}'}}\nnetworks: [{{type: memory, name: irc}}]\n"
        "plugins: {enabled: [core, meetings, kudos]}\n"
    )
    exported = run_opsbot("people", "export", "matrix:@alice:example.org", "-c", str(config))
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["identities"] == mine["identities"]
    assert document["kudos"]["received"] == mine["kudos"]["received"]


async def test_one_opt_out_for_every_public_page(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot(SITE)
    irc = bot.irc
    await irc.say("bob", "o/")
    await irc.say("alice", "!kudos bob for the docs")
    assert await irc.say("carol", "!kudos top") == ["Most kudos: bob (1)"]
    assert await irc.say("bob", "!optout") == [
        "You are left out of public pages and leaderboards; !optin undoes it."
    ]
    assert await irc.say("carol", "!kudos top") == ["No kudos yet."]
    assert bot.bot.web is not None
    url = f"{bot.bot.web.base_url}/kudos"
    async with aiohttp.ClientSession() as http, http.get(url) as board:
        assert "bob" not in await board.text()
    assert await irc.say("bob", "!optin") == ["You are back on the public pages and leaderboards."]
    assert await irc.say("carol", "!kudos top") == ["Most kudos: bob (1)"]
    assert await irc.say("dave", "!mydata", account=None) == [
        "Identify to an account on irc first; data is kept per account."
    ]


async def test_forget_me_puts_a_pseudonym_everywhere_at_once_and_keeps_the_minutes(
    kudos_bot: KudosFactory, tmp_path: Path, database_url: str
) -> None:
    bot = await kudos_bot(
        {**SITE, "plugins": {"enabled": ["core", "meetings", "kudos", "records"]}}
    )
    irc, mx = bot.irc, bot.matrix
    for nick in ("alice", "bob"):
        await irc.say(nick, "o/")
    await irc.say("alice", "#startmeeting ops")
    await irc.say("bob", "the scheduler fell over")
    await irc.say("alice", "#action bob files the bug")
    await irc.say("alice", "#endmeeting")
    await irc.say("bob", "!kudos alice #rootcause for the bisect of the scheduler")
    await irc.say("alice", "!kudos bob for the careful review")
    await link_both_sides(bot, "alice")

    await mx.say("alice", "#startmeeting matrix side")
    await mx.say("alice", "the placement rollback worked")
    await mx.say("alice", "#endmeeting")
    assert (await irc.say("alice", "!forget me"))[-1] == (
        "I sent you what it does, and a code to confirm, privately."
    )
    told = [s for s in irc.transport.sent if s.to is not None and s.to.nick == "alice"][-1].text
    assert "the meetings' minutes stay as they are" in told and "cannot be undone" in told
    confirm = told.rsplit("'", 2)[1].split()[-1]
    assert await irc.say("alice", "!forget me 0000000000000000") == [
        "That code is not the one I sent you, or it expired; ask again with !forget me."
    ]
    assert await irc.say("bob", f"!forget me {confirm}") == [
        "That code is not the one I sent you, or it expired; ask again with !forget me."
    ], "a code is its owner's"
    [done] = await irc.say("alice", f"!forget me {confirm}")
    pseudonym = done.removeprefix("Done: you are ").removesuffix(" in what opsbot keeps now.")
    assert pseudonym.startswith("forgotten-") and len(pseudonym) == len("forgotten-") + 8

    assert await irc.say("bob", "!kudos top") == [f"Most kudos: {pseudonym} (1), bob (1)"]
    assert await irc.say("bob", "!whois alice") == ["alice is irc:alice."]
    assert bot.bot.web is not None
    base = bot.bot.web.base_url
    async with aiohttp.ClientSession() as http:
        for path in ("/kudos", "/api/kudos", "/people/", f"/api/people/irc:{pseudonym}"):
            async with http.get(base + path) as page:
                text = await page.text()
            assert "alice" not in text and "bisect" not in text and "careful" not in text, path
        async with http.get(f"{base}/api/people/irc:alice") as page:
            assert page.status == 404
        search = f"{base}/search?q=rollback&person="
        async with http.get(search + "@alice:example.org") as page:
            assert "the placement" not in await page.text(), "her account searches nothing"
        async with http.get(search + "alice") as page:
            assert "the placement" in await page.text(), "the minutes, nicks and all, stay"
    folder = bot.bot.plugins["meetings"].config.output_dir  # type: ignore[attr-defined]
    [minutes] = [p for p in folder.rglob("ops.*.txt") if ".log." not in p.name]
    assert "alice" in minutes.read_text(), "the public minutes stay as they are"

    await bot.bot.stop()
    config = tmp_path / "cli.yaml"
    config.write_text(
        f"database: {{url: '{database_url}'}}\nnetworks: [{{type: memory, name: irc}}]\n"
        "plugins: {enabled: [core, meetings, kudos, records]}\n"
    )
    for tool in (
        ("records", "export", "--format", "json"),
        ("kudos", "export", "--format", "json"),
    ):
        done_cli = run_opsbot(*tool, "-c", str(config))
        assert done_cli.returncode == 0, done_cli.stderr
        assert "alice" not in done_cli.stdout and "bisect" not in done_cli.stdout, tool
        assert pseudonym in done_cli.stdout, tool
    kept = json.loads(run_opsbot("people", "export", "irc:alice", "-c", str(config)).stdout)
    assert kept["identities"] == ["irc:alice"] and "kudos" not in kept and "records" not in kept
    rebuilt = run_opsbot("records", "rebuild", "-c", str(config))
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = run_opsbot("records", "export", "--format", "json", "-c", str(config)).stdout
    assert "alice" not in after and pseudonym in after, "a rebuild brings no name back"
