"""Contribution records: the ledger from meetings and kudos, recognition rules, !record, and the
ledger rebuilt from the stored events (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsbot.testing import BotFactory, TestBot
from opsbot_plugins.records.models import Entry
from opsbot_plugins.records.plugin import Records
from tests.plugins.kudos.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL)

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
        "bob: 1 meetings attended (3 lines), 0 chaired, 1 action items; kudos: none. "
        "Rules met: none yet."
    ]
    await meeting(rbot, 1)
    await rbot.irc.say("alice", "!kudos bob #rootcause for finding the root cause")
    assert await rbot.irc.say("bob", "!record me") == [
        "bob: 2 meetings attended (4 lines), 0 chaired, 2 action items; kudos: #rootcause 1. "
        "Rules met: auc, rootcause."
    ]
    assert (await rbot.irc.say("bob", "!record alice"))[0] == (
        "alice: 2 meetings attended (6 lines), 2 chaired, 0 action items; kudos: none. "
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
        "bob: 1 meetings attended (12 lines), 0 chaired, 1 action items; kudos: none. "
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
    ], "the bot itself gets no credit"
    assert await plugin.rebuild() == 5
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
        return subprocess.run(
            [sys.executable, "-m", "opsbot", "records", *args, "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "OPSBOT_CONFIG": ""},
        )

    exported = opsbot("export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    people = {p["person"]: p for p in json.loads(exported.stdout)}
    assert set(people) == {"irc:alice", "irc:bob"}
    bob = people["irc:bob"]
    assert (bob["meetings_attended"], bob["lines_said"], bob["action_items"]) == (1, 12, 1)
    assert bob["kudos"] == {"rootcause": 1} and bob["rules_met"] == ["auc", "rootcause"]
    assert any(e["link"].endswith(".html") for e in bob["evidence"] if e["kind"] == "attended")
    only = json.loads(opsbot("export", "--format", "json", "--rule", "rootcause").stdout)
    assert [p["person"] for p in only] == ["irc:bob"]
    as_csv = opsbot("export").stdout.splitlines()
    assert as_csv[0].startswith("person,identities,meetings_attended") and len(as_csv) == 3
    unknown = opsbot("export", "--rule", "nope")
    assert unknown.returncode == 2 and "no rule named 'nope'" in unknown.stderr
    rebuilt = opsbot("rebuild")
    assert rebuilt.stdout.strip() == "5 ledger entries derived from the stored events."
