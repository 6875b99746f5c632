"""What opsbot keeps about a person, given to them (``!mydata``: a private link to a JSON
document, served by the site for an hour) and to admins (``opsbot people export``), and one
opt-out of every public page (``!optout``). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from opsbot.testing import run_opsbot

from .conftest import KudosFactory

SITE = {"web": {"enabled": True, "listen": "127.0.0.1:0"}}


async def test_mydata_gives_a_person_everything_kept_about_them(
    kudos_bot: KudosFactory, tmp_path: Path, database_url: str
) -> None:
    bot = await kudos_bot(SITE)
    irc, mx = bot.irc, bot.matrix
    for nick in ("alice", "bob"):
        await irc.say(nick, "o/")
    await irc.say("bob", "!kudos alice #rootcause for the bisect")
    await irc.say("alice", "!kudos bob for the review")
    await irc.say("alice", "!link")
    code = [s for s in irc.transport.sent if s.to is not None][-1].text.split()[2].rstrip("'")
    await mx.say("alice", f"!link {code}")
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
