"""Linked identities: !link with a one-time code across networks, !whois, the admin command
line, and kudos counted per person (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from opsbot.testing import run_opsbot

from .conftest import KudosFactory


async def test_link_across_networks_and_kudos_per_person(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    irc, mx = bot.irc, bot.matrix
    for nick in ("alice", "bob"):
        await irc.say(nick, "o/")
        await mx.say(nick, "o/")
    await irc.say("bob", "!kudos alice #rootcause for the bisect")
    await mx.say("bob", "!kudos alice #review for the spec review")
    assert await irc.say("bob", "!kudos top") == ["Most kudos: alice (1), alice (1)"]

    answered = await irc.say("alice", "!link")
    assert answered[-1] == "I sent you a one-time code privately."
    private = [s for s in irc.transport.sent if s.to is not None]
    assert private[-1].to is not None and private[-1].to.nick == "alice"
    code = private[-1].text.split("'")[1].split()[1]
    assert private[-1].text.endswith("within 10 minutes.")
    assert await mx.say("alice", "!link nonsense") == [
        "That code is unknown or has expired; ask for a new one with !link."
    ]
    assert await mx.say("alice", f"!link {code}") == [
        "Linked irc:alice and matrix:@alice:example.org."
    ]
    assert await mx.say("bob", f"!link {code}") == [
        "That code is unknown or has expired; ask for a new one with !link."
    ], "a code works once"
    assert await irc.say("bob", "!whois alice") == [
        "alice is irc:alice, matrix:@alice:example.org."
    ]
    assert await irc.say("bob", "!kudos alice") == [
        'alice: 2 kudos (#review 1, #rootcause 1). Latest: "the spec review" (bob); '
        '"the bisect" (bob)'
    ]
    assert await irc.say("bob", "!kudos top") == ["Most kudos: alice (2)"]
    over_a_month = (await irc.say("bob", "!kudos top 30d"))[0]
    assert over_a_month.startswith("Most kudos since ") and over_a_month.endswith(": alice (2)")


async def test_link_needs_an_account(kudos_bot: KudosFactory) -> None:
    bot = await kudos_bot()
    assert await bot.irc.say("dave", "!link", account=None) == [
        "Identify to an account on irc first; links join accounts."
    ]


async def test_people_merge_show_split_from_the_command_line(
    kudos_bot: KudosFactory, tmp_path: Path, database_url: str
) -> None:
    bot = await kudos_bot()
    await bot.bot.stop()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{database_url}'}}\nnetworks: [{{type: memory, name: irc}}]\n"
    )

    def opsbot(*args: str) -> subprocess.CompletedProcess[str]:
        return run_opsbot("people", *args, "-c", str(config))

    merged = opsbot("merge", "irc:alice", "matrix:@alice:example.org")
    assert merged.returncode == 0, merged.stderr
    assert opsbot("show", "irc:alice").stdout.splitlines() == [
        "irc:alice",
        "matrix:@alice:example.org",
    ]
    assert opsbot("split", "matrix:@alice:example.org").stdout.strip() == (
        "matrix:@alice:example.org is a person of their own again."
    )
    assert opsbot("show", "matrix:@alice:example.org").stdout.splitlines() == [
        "matrix:@alice:example.org"
    ]
    bad = opsbot("show", "alice")
    assert bad.returncode == 2 and "is not network:account" in bad.stderr


async def test_the_audit_trail_from_the_command_line(
    kudos_bot: KudosFactory, tmp_path: Path, database_url: str
) -> None:
    bot = await kudos_bot()
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: '{database_url}'}}\n")
    assert run_opsbot("audit", "-c", str(config)).stdout == "Nothing in the audit trail.\n"
    for _ in range(5):
        await bot.irc.say("mallory", "!link 0123456789abcdef")
    await bot.bot.stop()
    shown = run_opsbot("audit", "-c", str(config)).stdout.splitlines()
    assert len(shown) == 5
    assert shown[0].endswith(
        "irc:mallory  link: locked out: irc:mallory said 5 wrong link codes within 10 minutes; "
        "refused for 15 minutes."
    )
    assert shown[1].endswith("irc:mallory  link: wrong code: said '0123456789abcdef'")
    only = run_opsbot("audit", "--who", "irc:alice", "-c", str(config))
    assert only.stdout == "Nothing in the audit trail.\n"
