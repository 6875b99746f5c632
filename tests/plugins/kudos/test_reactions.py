"""Reactions as kudos (issue 21): a reaction of the configured set to someone's message is a
kudos to its author, the message its reason and its link the evidence; removing the reaction
withdraws it; the rules of ``!kudos`` apply, refused quietly (no answer in the room; the giver
hears why privately on ``!kudos recent``). SQLite and PostgreSQL; the real Synapse case is in
tests/integration/test_matrix.py."""

from __future__ import annotations

import asyncio

import aiohttp

from opsbot.events import Edit, Reaction, Redaction
from opsbot.testing import Chat

from .conftest import KudosFactory


async def react(chat: Chat, nick: str, target_id: str, key: str, reaction_id: str) -> list[str]:
    transport = chat.transport
    room = transport.room(transport.default_room_id)
    await transport.deliver(
        Reaction(
            network=transport.name, room=room, sender=transport.identity(nick),
            target_id=target_id, key=key, id=reaction_id,
        )
    )  # fmt: skip
    return [sent.text for sent in await chat.settle()]


async def unreact(chat: Chat, nick: str, reaction_id: str) -> None:
    transport = chat.transport
    room = transport.room(transport.default_room_id)
    await transport.deliver(
        Redaction(
            network=transport.name, room=room, sender=transport.identity(nick),
            target_id=reaction_id, id=f"{reaction_id}-gone",
        )
    )  # fmt: skip
    await chat.settle()
    kudos = chat.bot.plugins["kudos"]
    await asyncio.gather(*kudos._withdrawing)  # type: ignore[attr-defined]


async def test_a_reaction_is_a_kudos_and_removing_it_withdraws_it(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    mx = bot.matrix
    said = await mx.transport.say("alice", "bisected it: the placement change, see LP#2045678")
    await mx.settle()
    assert await react(mx, "bob", said.id or "", "👏\ufe0f", "$r1") == [], "no answer in the room"
    assert await mx.say("carol", "!kudos alice") == [
        'alice: 1 kudos (#general 1). Latest: "bisected it: the placement change, see '
        'LP#2045678" (bob)'
    ]
    [row] = await bot.bot.plugins["kudos"].store.public_kudos(  # type: ignore[attr-defined]
        category=None, receiver=None, since=None, limit=5
    )
    assert {"kind": "matrix", "ref": f"https://matrix.to/#/{mx.room}/{said.id}"} in row.evidence
    await unreact(mx, "bob", "$r1")
    assert await mx.say("carol", "!kudos alice") == ["alice has no kudos yet."]


async def test_reactions_follow_the_rules_quietly(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    mx = bot.matrix
    mine = await mx.transport.say("alice", "my own fine work")
    theirs = await mx.transport.say("bob", "a fine fix")
    await mx.settle()
    assert await react(mx, "alice", mine.id or "", "👏", "$self") == []
    assert await react(mx, "alice", theirs.id or "", "🙏", "$one") == []
    assert await react(mx, "alice", theirs.id or "", "🎉", "$two") == [], "the 24 h window"
    assert await react(mx, "alice", theirs.id or "", "👍", "$other") == [], "not in the set"
    assert await mx.say("carol", "!kudos top") == ["Most kudos: bob (1)"]
    answered = await mx.say("alice", "!kudos recent")
    private = [s for s in mx.transport.sent if s.to is not None and s.to.nick == "alice"]
    assert private[-1].text == (
        "Reactions of yours not counted: your 👏 to alice: No kudos to yourself; someone else "
        "will notice.; your 🎉 to bob: You already gave bob #general kudos in the last 24 h."
    )
    assert answered[-1].startswith("Recent kudos: ")


async def test_thanks_in_a_meeting_is_a_minute_item_and_a_kudos(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot({"web": {"enabled": True, "listen": "127.0.0.1:0"}})
    irc = bot.irc
    await irc.say("bob", "o/")
    await irc.say("alice", "#startmeeting ops")
    assert await irc.say("alice", "#thanks bob for finding the root cause") == [
        "Kudos to bob for #general."
    ]
    assert await irc.say("alice", "#thanks alice for chairing") == [
        "No kudos to yourself; someone else will notice."
    ]
    await irc.say("alice", "#endmeeting")
    await irc.say("alice", "#startmeeting private")
    await irc.say("alice", "#restrictlogs")
    assert await irc.say("alice", "#thanks bob for the secret fix") == [
        "The log of this meeting is restricted: #thanks is kept in the minutes only, with no "
        "public kudos; say !kudos outside the meeting if you wish."
    ]
    await irc.say("alice", "#endmeeting")
    [row] = await bot.bot.plugins["kudos"].store.public_kudos(  # type: ignore[attr-defined]
        category=None, receiver=None, since=None, limit=5
    )
    assert row.reason == "finding the root cause" and row.receiver_nick == "bob"
    [evidence] = row.evidence
    assert evidence["kind"] == "meeting" and evidence["ref"].endswith("/meetings/id/1#l-4")
    folder = bot.bot.plugins["meetings"].config.output_dir  # type: ignore[attr-defined]
    [minutes] = [p for p in folder.rglob("ops.*.txt") if ".log." not in p.name]
    assert "THANKS: bob for finding the root cause  (alice," in minutes.read_text()
    async with aiohttp.ClientSession() as http:
        url = evidence["ref"].split("#")[0]
        async with http.get(url, allow_redirects=False) as found:
            assert found.status == 302
            assert found.headers["Location"].endswith(".log.html")
        async with http.get(url) as page:
            assert page.status == 200 and 'id="l-4"' in await page.text()


async def test_a_redacted_message_is_no_reason_and_an_edit_is_the_reason(
    kudos_bot: KudosFactory,
) -> None:
    bot = await kudos_bot()
    mx = bot.matrix
    room = mx.transport.room(mx.transport.default_room_id)
    secret = await mx.transport.say("alice", "the db password is hunter2")
    typo = await mx.transport.say("bob", "teh fix")
    await mx.settle()
    await unreact(mx, "alice", secret.id or "")  # alice redacts her message
    await mx.transport.deliver(
        Edit(network="matrix", room=room, sender=typo.sender, target_id=typo.id or "",
             text="the fix", id="$edit")
    )  # fmt: skip
    await mx.settle()
    assert await react(mx, "carol", secret.id or "", "👏", "$on-secret") == []
    assert await react(mx, "carol", typo.id or "", "👏", "$on-typo") == []
    kudos = bot.bot.plugins["kudos"]
    rows = await kudos.store.public_kudos(category=None, receiver=None, since=None, limit=5)  # type: ignore[attr-defined]
    assert [(r.receiver_nick, r.reason) for r in rows] == [("bob", "the fix")]
