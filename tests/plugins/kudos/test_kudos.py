"""The kudos plugin over real bots on memory networks: every command, limit and refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from opsbot.domain import KudosGiven, KudosWithdrawn
from opsbot.testing import TestBot
from opsbot_plugins.kudos.models import Audit, Kudos
from opsbot_plugins.kudos.plugin import Kudos as KudosPlugin

from .conftest import KudosFactory


@pytest.fixture
async def kbot(kudos_bot: KudosFactory) -> TestBot:
    bot = await kudos_bot()
    for nick in ("alice", "bob", "carol", "j.doe", "[m]x"):
        await bot.irc.say(nick, "o/")
    return bot


def plugin_of(bot: TestBot) -> KudosPlugin:
    plugin = bot.bot.plugins["kudos"]
    assert isinstance(plugin, KudosPlugin)
    return plugin


async def test_kudos_with_a_category_and_evidence(kbot: TestBot) -> None:
    irc = kbot.irc
    replies = await irc.say(
        "alice",
        "!kudos bob #rootcause for finding the root cause of "
        "https://bugs.launchpad.net/nova/+bug/2045678 (fix: https://review.opendev.org/c/openstack/nova/+/912345)",
    )
    assert replies == ["Kudos to bob for #rootcause (2 evidence links)."]
    await plugin_of(kbot).store.flush()
    async with kbot.bot.storage.session() as session:
        row = (await session.scalars(select(Kudos))).one()
    assert (row.giver_key, row.receiver_key, row.category) == ("alice", "bob", "rootcause")
    assert [e["kind"] for e in row.evidence] == ["launchpad", "gerrit"]
    standing = await irc.say("carol", "!kudos bob")
    assert standing[0].startswith('bob: 1 kudos (#rootcause 1). Latest: "finding the root cause')


async def test_several_targets_odd_nicks_and_the_default_category(kbot: TestBot) -> None:
    assert await kbot.irc.say("alice", "!kudos bob, j.doe and [m]x for running the meetup") == [
        "Kudos to bob, j.doe, [m]x for #general."
    ]
    assert await kbot.irc.say("carol", "!kudos @bob #review the cells v2 upgrade spec") == [
        "Kudos to bob for #review."
    ]


async def test_plus_plus_credits_people_but_not_code(kbot: TestBot) -> None:
    irc = kbot.irc
    assert await irc.say("alice", "bob++ for the bisect") == ["Kudos to bob for #general."]
    assert await irc.say("alice", "I write C++ and for (i++) loops") == []
    assert await irc.say("carol", "try `bob++` in the shell") == []
    assert await irc.say("carol", "thanks j.doe++ and [m]x++") == [
        "Kudos to j.doe, [m]x for #general."
    ]


async def test_matrix_pills_name_the_receiver(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    mx = bot.matrix
    await mx.say("bob", "hi")
    html = '<a href="https://matrix.to/#/@bob:example.org">Bob B</a> for the fix'
    await mx.transport.say("alice", "!kudos Bob B for the fix", html=f"!kudos {html}")
    replies = [s.text for s in await mx.settle()]
    assert replies == ["Kudos to bob for #general."]


async def test_refusals_are_one_line_each(kbot: TestBot) -> None:
    irc = kbot.irc
    assert await irc.say("alice", "!kudos alice for being me") == [
        "No kudos to yourself; someone else will notice."
    ]
    assert await irc.say("alice", "!kudos zed for the fix") == [
        "I have not seen zed here; check the spelling, or try once they have spoken in a "
        "channel I am in."
    ]
    assert (await irc.say("alice", "!kudos bob #nonsense for it"))[0].startswith(
        "There is no #nonsense category; try one of #general, #rootcause"
    )
    await irc.say("dave", "hello", account=None)
    assert await irc.say("alice", "!kudos dave for the patch") == [
        "dave is not identified to an account on irc, so kudos cannot be kept for them."
    ]
    assert await irc.say("dave", "!kudos bob for the patch", account=None) == [
        "Kudos need you to be identified to an account on irc."
    ]
    assert await irc.say("alice", "!kudos bob #docs for the guide") == ["Kudos to bob for #docs."]
    assert await irc.say("alice", "!kudos bob #docs for the other guide") == [
        "You already gave bob #docs kudos in the last 24 h."
    ]


async def test_the_daily_cap(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot({"plugins": {"kudos": {"daily_cap": 2}}})
    for nick in ("alice", "bob", "carol", "dave"):
        await bot.irc.say(nick, "o/")
    await bot.irc.say("alice", "!kudos bob for one")
    await bot.irc.say("alice", "!kudos carol for two")
    assert await bot.irc.say("alice", "!kudos dave for three") == [
        "You have given 2 kudos today, the daily limit."
    ]


async def test_kudos_to_someone_seen_earlier_but_gone(kbot: TestBot) -> None:
    room = kbot.irc.transport.room(kbot.irc.room)
    kbot.irc.transport._members[room.id].pop("carol")
    assert await kbot.irc.say("alice", "!kudos carol for the runbook") == [
        "Kudos to carol for #general."
    ]


async def test_undo_within_ten_minutes_and_admin_revoke_with_an_audit_trail(
    kbot: TestBot,
) -> None:
    irc = kbot.irc
    events: list[object] = []

    async def heard(event: object) -> None:
        events.append(event)

    kbot.bot.bus.subscribe(KudosGiven, heard)
    kbot.bot.bus.subscribe(KudosWithdrawn, heard)
    await irc.say("alice", "!kudos bob #review for the spec review")
    assert await irc.say("alice", "!kudos undo") == ["Undone: your kudos to bob for #review."]
    assert await irc.say("alice", "!kudos undo") == [
        "You have no kudos from the last 10 minutes to undo."
    ]
    assert await irc.say("alice", "!kudos bob #review for the spec review, again") == [
        "Kudos to bob for #review."
    ], "an undone kudos does not count against the window"
    assert await irc.say("bob", "!kudos revoke 2 gaming") == ["Only bot admins can revoke kudos."]
    assert await irc.say("admin", "!kudos revoke 2 duplicate of the undone one") == [
        "Revoked kudos 2 (alice → bob)."
    ]
    assert await irc.say("admin", "!kudos revoke 2 again") == ["There is no standing kudos 2."]
    assert await irc.say("carol", "!kudos bob") == ["bob has no kudos yet."]
    async with kbot.bot.storage.session() as session:
        trail = [
            (a.kudos_id, a.action) for a in await session.scalars(select(Audit).order_by(Audit.id))
        ]
        states = [k.state for k in await session.scalars(select(Kudos).order_by(Kudos.id))]
    assert trail == [(1, "give"), (1, "undo"), (2, "give"), (2, "revoke")]
    assert states == ["undone", "revoked"]
    assert [type(e).__name__ for e in events] == [
        "KudosGiven", "KudosWithdrawn", "KudosGiven", "KudosWithdrawn",
    ]  # fmt: skip


async def test_top_recent_categories_and_opting_out(kbot: TestBot) -> None:
    irc = kbot.irc
    await irc.say("alice", "!kudos bob #rootcause for the bisect")
    await irc.say("carol", "!kudos bob #rootcause for the logs")
    await irc.say("alice", "!kudos carol #docs for the guide")
    assert await irc.say("bob", "!kudos top") == ["Most kudos: bob (2), carol (1)"]
    assert await irc.say("bob", "!kudos top #docs") == ["Most #docs kudos: carol (1)"]
    assert (await irc.say("bob", "!kudos top rootcause 7d"))[0].startswith(
        "Most #rootcause kudos since "
    )
    assert await irc.say("bob", "!kudos top fortnight") == [
        "'fortnight' is neither a category nor a period (7d, 4w, 12m, 1y, all)."
    ]
    assert (await irc.say("bob", "!kudos recent"))[0].startswith(
        "Recent kudos: (3) alice → carol #docs: the guide; (2) carol → bob #rootcause"
    )
    assert (await irc.say("bob", "!kudos categories"))[0].startswith(
        "Kudos categories (default #general): #general: anything else"
    )
    assert await irc.say("bob", "!kudos optout") == [
        "You are left out of public leaderboards; !kudos optin undoes it."
    ]
    assert await irc.say("alice", "!kudos top") == ["Most kudos: carol (1)"]
    assert await irc.say("bob", "!kudos") == [
        'bob: 2 kudos (#rootcause 2). Latest: "the logs" (carol); "the bisect" (alice)'
    ], "opting out hides you from leaderboards, not from yourself"
    await irc.say("bob", "!kudos optin")
    assert await irc.say("alice", "!kudos top") == ["Most kudos: bob (2), carol (1)"]


async def test_limits_survive_a_restart(kudos_bot: KudosFactory) -> None:
    first = await kudos_bot()
    await first.irc.say("bob", "o/")
    await first.irc.say("alice", "!kudos bob #docs for the guide")
    await first.bot.stop()
    second = await kudos_bot()
    await second.irc.say("bob", "o/")
    assert await second.irc.say("alice", "!kudos bob #docs for the guide again") == [
        "You already gave bob #docs kudos in the last 24 h."
    ]
    assert await second.irc.say("alice", "!kudos bob #review for the spec") == [
        "Kudos to bob for #review."
    ]
    assert plugin_of(second).store.window == timedelta(hours=24)
