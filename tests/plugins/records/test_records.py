"""Contribution records: the ledger from meetings and kudos, recognition rules, !record, and the
ledger rebuilt from the stored events (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.audit import Audit
from opsbot.testing import BotFactory, TestBot, run_opsbot
from opsbot_plugins.records.models import Entry
from opsbot_plugins.records.plugin import Records
from tests.plugins.kudos.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL)

ARCHIVE = (
    Path(__file__).parents[1] / "meetings" / "fixtures" / "ops_meetup_team.2026-11-24-14.00.log.txt"
)

RULES = [
    {
        "name": "auc",
        "description": "Active User Contributor",
        "period_days": 183,
        "any": [
            {"attended": 2, "meetings": ["ops_meetup_team"]},
            {"lines": 10, "meetings": ["ops_meetup_team"]},
        ],
    },
    {"name": "rootcause", "period_days": 365, "any": [{"kudos": 1, "category": "rootcause"}]},
    {"name": "chair", "any": [{"chaired": 1}]},
    {"name": "finisher", "any": [{"completed": 1}]},
]


@pytest.fixture
async def rbot(bot_factory: BotFactory, database_url: str) -> TestBot:  # noqa: F811
    config: dict[str, Any] = {
        "database": {"url": database_url},
        "plugins": {"records": {"rules": RULES}},
    }
    return await bot_factory(plugins=("core", "meetings", "kudos", "records"), config=config)


def records_of(bot: TestBot) -> Records:
    plugin = bot.bot.plugins["records"]
    assert isinstance(plugin, Records)
    return plugin


async def meeting(bot: TestBot, lines_by_bob: int) -> None:
    irc = bot.irc
    await irc.say("alice", "#startmeeting Ops Meetup Team")
    for i in range(lines_by_bob):
        await irc.say("bob", f"report {i}")
    await irc.say("carol", "hello", account=None)
    await irc.say("alice", "#action bob file the bug")
    await irc.say("alice", "#endmeeting")


async def test_meetings_and_kudos_make_a_record_and_rules_are_met(rbot: TestBot) -> None:
    await meeting(rbot, 3)
    assert await rbot.irc.say("dave", "!record bob") == [
        "bob: 1 meetings attended (3 lines), 0 chaired, 1 action items (0 done); kudos: none. "
        "Rules met: none yet."
    ]
    await meeting(rbot, 1)
    await rbot.irc.say("alice", "!kudos bob #rootcause for finding the root cause")
    assert await rbot.irc.say("bob", "!record me") == [
        "bob: 2 meetings attended (4 lines), 0 chaired, 2 action items (0 done); kudos: #rootcause 1. "
        "Rules met: auc, rootcause."
    ]
    assert (await rbot.irc.say("bob", "!record alice"))[0] == (
        "alice: 2 meetings attended (6 lines), 2 chaired, 0 action items (0 done); kudos: none. "
        "Rules met: auc, chair."
    )
    assert await rbot.irc.say("bob", "!record carol") == [
        "carol is not identified to an account; no record is kept."
    ]


async def test_withdrawn_kudos_do_not_count_and_the_ledger_rebuilds_the_same(
    rbot: TestBot,
) -> None:
    await meeting(rbot, 12)
    await rbot.irc.say("alice", "!kudos bob #rootcause for the bisect")
    await rbot.irc.say("alice", "!kudos undo")
    assert (await rbot.irc.say("bob", "!record"))[0] == (
        "bob: 1 meetings attended (12 lines), 0 chaired, 1 action items (0 done); kudos: none. "
        "Rules met: auc."
    )
    plugin = records_of(rbot)

    async def ledger() -> list[tuple[Any, ...]]:
        async with rbot.bot.storage.session() as session:
            rows = await session.scalars(
                select(Entry).order_by(Entry.source, Entry.kind, Entry.nick)
            )
            return [
                (r.ts, r.network, r.account, r.kind, r.meeting, r.category, r.count, r.source,
                 r.link, r.withdrawn)
                for r in rows
            ]  # fmt: skip

    before = await ledger()
    assert sorted((r[2], r[3]) for r in before) == [
        ("alice", "attended"),
        ("alice", "chaired"),
        ("bob", "action"),
        ("bob", "attended"),
        ("bob", "kudos"),
        ("~carol", "attended"),
    ], "the bot itself gets no credit; carol, unidentified, is credited by nick"
    assert await plugin.rebuild() == 6
    assert await ledger() == before


async def test_export_and_rebuild_from_the_command_line(
    rbot: TestBot,
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    await meeting(rbot, 12)
    await rbot.irc.say(
        "alice", "!kudos bob #rootcause for https://bugs.launchpad.net/nova/+bug/2045678"
    )
    await rbot.bot.stop()
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "database": {"url": database_url},
                "networks": [{"type": "memory", "name": "irc"}],
                "plugins": {"enabled": ["core", "records"], "records": {"rules": RULES}},
            }
        )
    )

    def opsbot(*args: str) -> subprocess.CompletedProcess[str]:
        return run_opsbot("records", *args, "-c", str(config))

    exported = opsbot("export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    people = {p["person"]: p for p in json.loads(exported.stdout)}
    assert set(people) == {"irc:alice", "irc:bob", "irc:~carol"}  # carol spoke unidentified
    bob = people["irc:bob"]
    assert (bob["meetings_attended"], bob["lines_said"], bob["action_items"]) == (1, 12, 1)
    assert bob["kudos"] == {"rootcause": 1} and bob["rules_met"] == ["auc", "rootcause"]
    assert any(e["link"].endswith(".html") for e in bob["evidence"] if e["kind"] == "attended")
    only = json.loads(opsbot("export", "--format", "json", "--rule", "rootcause").stdout)
    assert [p["person"] for p in only] == ["irc:bob"]
    alone = opsbot("export", "--format", "json", "--jobs", "1")
    assert alone.stdout == exported.stdout, "one process or several: the same export"
    assert opsbot("export", "--jobs", "1").stdout == opsbot("export", "--jobs", "2").stdout
    as_csv = opsbot("export").stdout.splitlines()
    assert as_csv[0].startswith("person,identities,meetings_attended") and len(as_csv) == 4
    [bob_row] = [row for row in csv.DictReader(as_csv) if row["person"] == "irc:bob"]
    links = bob_row["evidence"].split()
    assert len(links) == len(set(links)), "each minutes URL once (attended and owned an action)"
    assert "https://bugs.launchpad.net/nova/+bug/2045678" in links, "the kudos' evidence link"
    assert len([link for link in links if link.endswith(".html")]) == 1, "one meeting"
    unknown = opsbot("export", "--rule", "nope")
    assert unknown.returncode == 2 and "no rule named 'nope'" in unknown.stderr
    rebuilt = opsbot("rebuild")
    assert rebuilt.stdout.strip() == "6 ledger entries derived from the stored events."


async def test_export_counts_linked_identities_as_one_person_in_ledger_order(
    rbot: TestBot,
) -> None:
    irc, mx = rbot.irc, rbot.matrix
    await meeting(rbot, 4)  # on IRC: alice chairs, bob says 4 lines and owns an action
    await mx.say("zed", "o/")
    await mx.say("bob", "o/")
    await mx.say("zed", "!kudos bob #rootcause for the bisect")
    await irc.say("alice", "!kudos bob #review for the spec review")
    await rbot.bot.people.link(("irc", "bob"), ("matrix", "@bob:example.org"), by="test")

    people = [p async for p in records_of(rbot).export(since=None, rule=None)]
    assert [p["identities"] for p in people] == [
        ["irc:alice"],
        ["irc:bob", "matrix:@bob:example.org"],
        ["irc:~carol"],
    ], "bob once, where his first identity comes; zed gave but received nothing"
    bob = people[1]
    assert (bob["meetings_attended"], bob["lines_said"], bob["action_items"]) == (1, 4, 1)
    assert bob["kudos"] == {"review": 1, "rootcause": 1}
    assert bob["rules_met"] == ["rootcause"]
    assert sorted(e["kind"] for e in bob["evidence"]) == ["action", "attended", "kudos", "kudos"]

    only = [p["person"] async for p in records_of(rbot).export(since=None, rule="chair")]
    assert only == ["irc:alice"]


async def test_the_ledger_moves_to_person_order_with_its_entries(
    tmp_path: Path,
    database_url: str,  # noqa: F811
) -> None:
    """records_0002 rebuilds the entries table clustered by person; nothing is lost."""
    from sqlalchemy import text

    from opsbot.storage import Storage, _upgrade

    storage = Storage(database_url)
    await storage.connect()
    versions = Records.migrations_dir()
    assert versions is not None
    try:
        async with storage.engine.begin() as conn:
            await conn.run_sync(_upgrade, "records", versions, "records_0001")
            await conn.execute(
                text(
                    "INSERT INTO records_entries (ts, network, account, nick, kind, meeting,"
                    " category, count, source, link, withdrawn) VALUES"
                    " ('2026-01-02 10:00:00', 'irc', 'bob', 'bob', 'kudos', '', 'docs', 1,"
                    " 'kudos:7', '', false),"
                    " ('2026-01-01 10:00:00', 'irc', 'bob', 'bob', 'attended', 'ops', '', 5,"
                    " 'meeting:1', 'https://x/ops.html', false)"
                )
            )
        assert await storage.migrate([("records", versions)]) == {"records": "records_0004"}
        async with storage.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT id, kind, count, source, private FROM records_entries ORDER BY id")
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "kudos", 1, "kudos:7", False),
            (2, "attended", 5, "meeting:1", False),
        ]
    finally:
        await storage.close()


async def test_closing_an_owned_action_item_counts_as_completed(rbot: TestBot) -> None:
    await meeting(rbot, 2)
    assert await rbot.irc.say("bob", "!done 1") == ["Closed action item 1: bob file the bug"]
    assert await rbot.irc.say("bob", "!record") == [
        "bob: 1 meetings attended (2 lines), 0 chaired, 1 action items (1 done); kudos: none. "
        "Rules met: finisher."
    ]
    [alice] = [p async for p in records_of(rbot).export(since=None, rule="chair")]
    assert alice["action_items_completed"] == 0, "closing is credited to the owners"
    assert await records_of(rbot).rebuild() == 6  # alice: attended, chaired; bob: + action,
    # done; carol (unidentified): attended
    assert (await rbot.irc.say("bob", "!record"))[0].endswith(
        "(1 done); kudos: none. Rules met: finisher."
    )


async def test_imported_archives_credit_nicks_an_admin_can_merge_into_accounts(
    rbot: TestBot,
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    await meeting(rbot, 12)  # live: bob says 12 lines with his account
    await rbot.bot.stop()
    running = socket.socket()  # the bot that runs meanwhile holds the site's port
    running.bind(("127.0.0.1", 0))
    running.listen()
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "database": {"url": database_url},
                "web": {"listen": f"127.0.0.1:{running.getsockname()[1]}"},
                "networks": [{"type": "memory", "name": "irc"}],
                "plugins": {
                    "enabled": ["core", "meetings", "records"],
                    "meetings": {"output_dir": str(tmp_path / "minutes")},
                    "records": {"rules": RULES},
                },
            }
        )
    )

    def opsbot(*args: str) -> subprocess.CompletedProcess[str]:
        done = run_opsbot(*args, "-c", str(config))
        assert done.returncode == 0, done.stderr
        return done

    imported = opsbot("meetings", "import", str(ARCHIVE), "--network", "irc").stdout
    assert "'ops_meetup_team'" in imported and "lines" in imported

    people = {
        p["person"]: p for p in json.loads(opsbot("records", "export", "--format", "json").stdout)
    }
    assert "irc:~openstack" not in people, "the archive's MeetBot gets no credit"
    archived_bob = people["irc:~bob"]
    assert archived_bob["meetings_attended"] == 1 and archived_bob["action_items"] == 1
    assert people["irc:~mihalis68"]["meetings_chaired"] == 1
    assert people["irc:bob"]["meetings_attended"] == 1

    opsbot("people", "merge", "irc:bob", "irc:~bob")
    exports = {
        jobs: json.loads(opsbot("records", "export", "--format", "json", "--jobs", jobs).stdout)
        for jobs in ("1", "2", "3")
    }
    # with several processes bob's two identities fall in different parts: he is still one
    assert [p["person"] for p in exports["3"]].count("irc:bob") == 1
    assert exports["1"] == exports["2"] == exports["3"]
    people = {
        p["person"]: p for p in json.loads(opsbot("records", "export", "--format", "json").stdout)
    }
    assert "irc:~bob" not in people
    bob = people["irc:bob"]
    assert bob["identities"] == ["irc:bob", "irc:~bob"]
    assert (bob["meetings_attended"], bob["action_items"]) == (2, 2)
    assert "auc" in bob["rules_met"]

    again = opsbot("meetings", "import", str(ARCHIVE), "--network", "irc").stdout
    assert "already imported" in again
    exported = json.loads(opsbot("records", "export", "--format", "json").stdout)
    assert {p["person"]: p for p in exported}["irc:bob"]["meetings_attended"] == 2
    running.close()


async def test_a_person_linked_across_accounts_attends_and_chairs_a_meeting_once(
    rbot: TestBot,
) -> None:
    """alice chairs from two linked accounts and speaks from both: one meeting attended and one
    chaired, not two (the "chair" and "auc" rules cannot be met by doubling up)."""
    irc = rbot.irc
    await irc.say("alice2", "o/")
    await irc.say("alice", "!link")
    code = next(s for s in reversed(irc.transport.sent) if s.to is not None).text.split()[2]
    assert await irc.say("alice2", f"!link {code.rstrip(chr(39))}") == [
        "Linked irc:alice and irc:alice2."
    ]
    await irc.say("alice", "#startmeeting Ops Meetup Team")
    await irc.say("alice", "#chair alice2")
    await irc.say("alice2", "hello from my other account")
    await irc.say("alice", "#endmeeting")
    assert (await irc.say("bob", "!record alice"))[0] == (
        "alice: 1 meetings attended (4 lines), 1 chaired, 0 action items (0 done); kudos: none. "
        "Rules met: chair."
    )


async def test_lines_said_before_identifying_are_claimed_the_same_day(rbot: TestBot) -> None:
    irc = rbot.irc
    await meeting(rbot, 2)  # carol says "hello" without an account
    assert await irc.say("dave", "!claim") == [
        "Nothing said as dave without an account in the last day waits to be claimed."
    ]
    assert await irc.say("carol", "!claim", account=None) == [
        "Identify to an account on irc first, then claim."
    ]
    assert await irc.say("carol", "!claim") == [
        "Credited to irc:carol: 1 entries of carol from the last day."
    ]
    assert (await irc.say("bob", "!record carol"))[0] == (
        "carol: 1 meetings attended (1 lines), 0 chaired, 0 action items (0 done); kudos: none. "
        "Rules met: none yet."
    )
    assert await irc.say("carol", "!claim") == [
        "Nothing said as carol without an account in the last day waits to be claimed."
    ], "only once"
    rows = await Audit(rbot.bot.storage).recent(5)
    assert [(r.who, r.action) for r in rows] == [("irc:carol", "records: claimed")]
    plugin = records_of(rbot)
    async with rbot.bot.storage.session() as session:
        before = sorted((e.account, e.kind) for e in await session.scalars(select(Entry)))
    await plugin.rebuild()
    async with rbot.bot.storage.session() as session:
        after = sorted((e.account, e.kind) for e in await session.scalars(select(Entry)))
    assert after == before and ("carol", "attended") in after


async def test_nominated_people_meet_a_rule_by_name_until_it_expires(
    bot_factory: BotFactory,
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """As OpenStack's user committee kept "extra AUCs": by config (erin, expired for dave) and
    by the command line (zoe, with nothing in the ledger)."""
    nominations = [
        {
            "account": "irc:erin",
            "rule": "auc",
            "until": "2999-01-01",
            "why": "ran the Berlin meetup",
        },
        {"account": "irc:dave", "rule": "auc", "until": "2001-01-01", "why": "long ago"},
    ]
    config: dict[str, Any] = {
        "database": {"url": database_url},
        "plugins": {"records": {"rules": RULES, "nominations": nominations}},
    }
    rbot = await bot_factory(plugins=("core", "meetings", "kudos", "records"), config=config)
    await meeting(rbot, 1)
    await rbot.irc.say("erin", "o/")
    await rbot.irc.say("dave", "o/")
    assert (await rbot.irc.say("bob", "!record erin"))[0].endswith(
        "Rules met: auc (nominated until 2999-01-01)."
    )
    assert (await rbot.irc.say("bob", "!record dave"))[0].endswith("Rules met: none yet.")
    await rbot.bot.stop()
    path = tmp_path / "config.yaml"
    path.write_text(
        json.dumps(
            {
                "database": {"url": database_url},
                "networks": [{"type": "memory", "name": "irc"}],
                "plugins": {
                    "enabled": ["core", "records"],
                    "records": {"rules": RULES, "nominations": nominations},
                },
            }
        )
    )

    def opsbot(*args: str) -> subprocess.CompletedProcess[str]:
        return run_opsbot("records", *args, "-c", str(path))

    made = opsbot("nominate", "irc:zoe", "--rule", "auc", "--until", "2999-06-30", "--why", "docs")
    assert made.returncode == 0, made.stderr
    assert made.stdout == "irc:zoe counts as meeting auc until 2999-06-30.\n"
    refused = opsbot("nominate", "irc:zoe", "--rule", "nope", "--until", "2999-06-30", "--why", "x")
    assert refused.returncode == 2 and "there is no rule 'nope'" in refused.stderr
    past = opsbot("nominate", "irc:zoe", "--rule", "auc", "--until", "2000-01-01", "--why", "x")
    assert past.returncode == 2 and "is past" in past.stderr
    people = {p["person"]: p for p in json.loads(opsbot("export", "--format", "json").stdout)}
    assert people["irc:zoe"]["rules_met"] == ["auc"]
    assert people["irc:zoe"]["nominations"] == [
        {"rule": "auc", "until": "2999-06-30", "why": "docs"}
    ]
    assert "irc:erin" in people and "irc:dave" not in people
    auc = [
        p["person"]
        for p in json.loads(opsbot("export", "--format", "json", "--rule", "auc").stdout)
    ]
    assert "irc:zoe" in auc and "irc:erin" in auc
