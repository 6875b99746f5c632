"""Kudos and links as a hostile user tries them: kudos to one's own linked account (given
after the link, or before it and laundered by it), the window and the daily cap dodged through a
second account, and link codes guessed by flooding ``!link CODE``. Each abuse is refused in one
line, nothing is credited, and the audit trail shows it (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from opsbot.audit import Audit
from opsbot.linkcodes import CODE_BYTES, WRONG_PER_ACCOUNT, WRONG_PER_CODE
from opsbot.testing import Chat, TestBot

from .conftest import KudosFactory

CODE = re.compile(r"link ([0-9a-f]+)'")


async def code_for(chat: Chat, nick: str) -> str:
    await chat.say(nick, "!link")
    private = [s for s in chat.transport.sent if s.to is not None and s.to.nick == nick]
    found = CODE.search(private[-1].text)
    assert found is not None, private[-1].text
    return found.group(1)


async def link(chat: Chat, first: str, second: str) -> None:
    code = await code_for(chat, first)
    assert await chat.say(second, f"!link {code}") == [f"Linked irc:{first} and irc:{second}."]


async def audit_of(bot: TestBot) -> list[tuple[str, str, str]]:
    rows = await Audit(bot.bot.storage).recent(100)
    return [(r.who, r.action, r.detail) for r in reversed(rows)]


async def test_no_kudos_to_ones_own_linked_account(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    irc = bot.irc
    for nick in ("alice", "alice2", "bob"):
        await irc.say(nick, "o/")
    await link(irc, "alice", "alice2")
    assert await irc.say("bob", "!whois alice") == ["alice is irc:alice, irc:alice2."]

    refused = "No kudos to yourself: alice2 is linked to you; someone else will notice."
    assert await irc.say("alice", "!kudos alice2 #review for the spec review") == [refused]
    assert await irc.say("alice", "alice2++ for the spec review") == [refused]
    assert await irc.say("alice2", "!kudos alice for the bisect") == [
        "No kudos to yourself: alice is linked to you; someone else will notice."
    ]
    assert await irc.say("bob", "!kudos alice2") == ["alice2 has no kudos yet."]
    assert await irc.say("bob", "!kudos alice") == ["alice has no kudos yet."]
    assert await irc.say("bob", "!kudos top") == ["No kudos yet."]
    assert [a for a in await audit_of(bot) if a[1].startswith("kudos")] == [
        ("irc:alice", "kudos: to a linked account", "to irc:alice2 #review"),
        ("irc:alice", "kudos: to a linked account", "to irc:alice2 #general"),
        ("irc:alice2", "kudos: to a linked account", "to irc:alice #general"),
    ]


async def test_kudos_to_oneself_before_the_link_stop_counting_at_the_link(
    kudos_bot: KudosFactory,
) -> None:
    bot = await kudos_bot()
    irc = bot.irc
    for nick in ("alice", "alice2", "bob"):
        await irc.say(nick, "o/")
    assert await irc.say("alice", "!kudos alice2 #review for the spec review") == [
        "Kudos to alice2 for #review."
    ]
    await irc.say("bob", "!kudos alice2 #rootcause for the bisect")
    assert await irc.say("bob", "!kudos top") == ["Most kudos: alice2 (2)"]
    await link(irc, "alice", "alice2")
    assert await irc.say("bob", "!kudos top") == ["Most kudos: alice2 (1)"]
    assert (await irc.say("bob", "!kudos alice2"))[0].startswith("alice2: 1 kudos (#rootcause 1)")


async def test_the_window_and_the_daily_cap_count_people_not_accounts(
    kudos_bot: KudosFactory,
) -> None:
    bot = await kudos_bot({"plugins": {"kudos": {"daily_cap": 2}}})
    irc = bot.irc
    for nick in ("alice", "alice2", "bob", "bob2", "carol", "dave"):
        await irc.say(nick, "o/")
    await link(irc, "alice", "alice2")
    await link(irc, "bob", "bob2")
    assert await irc.say("bob", "!kudos alice #review for the review") == [
        "Kudos to alice for #review."
    ]
    assert await irc.say("bob2", "!kudos alice2 #review for the same review") == [
        "You already gave alice2 #review kudos in the last 24 h."
    ]
    assert await irc.say("bob2", "!kudos carol for the docs") == ["Kudos to carol for #general."]
    assert await irc.say("bob", "!kudos dave for the meetup") == [
        "You have given 2 kudos today, the daily limit."
    ]
    (top,) = await irc.say("carol", "!kudos top")
    assert sorted(top.removeprefix("Most kudos: ").split(", ")) == ["alice (1)", "carol (1)"]
    actions = [a[1] for a in await audit_of(bot)]
    assert "kudos: window, through a link" in actions
    assert "kudos: daily cap, through a link" in actions


async def test_link_codes_cannot_be_guessed(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    irc = bot.irc
    code = await code_for(irc, "alice")
    assert len(code) == 2 * CODE_BYTES, "64 bits"

    answers: list[str] = []
    for i in range(300):
        await irc.transport.say("mallory", f"!link {i:016x}")
        answers += [s.text for s in await irc.settle() if s.to is None]
    unknown = "That code is unknown or has expired; ask for a new one with !link."
    assert answers[: WRONG_PER_ACCOUNT - 1] == [unknown] * (WRONG_PER_ACCOUNT - 1)
    assert answers[WRONG_PER_ACCOUNT - 1] == (
        "Too many wrong codes: !link CODE is refused to you for 15 minutes."
    )
    assert len(answers) == WRONG_PER_ACCOUNT, "a flood after the lock gets no answer each"
    assert await irc.say("mallory", f"!link {code}") == [], "locked: even the right code"
    assert await irc.say("bob", "!whois mallory") == ["mallory is irc:mallory."]

    told = [s.text for s in irc.transport.sent if s.to is not None and s.to.nick == "admin"]
    assert told == [
        "irc:mallory said 5 wrong link codes within 10 minutes; refused for 15 minutes."
    ]
    audit = await audit_of(bot)
    assert [a[1] for a in audit] == ["link: wrong code"] * (WRONG_PER_ACCOUNT - 1) + [
        "link: locked out"
    ]
    assert all(who == "irc:mallory" for who, _, _ in audit)

    # Many accounts, few tries each: the code waiting is void after WRONG_PER_CODE wrong tries.
    code = await code_for(irc, "alice")
    for i in range(WRONG_PER_CODE):
        await irc.say(f"sock{i}", f"!link {i:016x}")
    assert await irc.say("alice2", f"!link {code}") == [
        "That code was made void after too many wrong tries while it waited; ask for a new "
        "one with !link."
    ]
    await link(irc, "alice", "alice2")
