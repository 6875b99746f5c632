"""Upgrading from 0.10: the people who left the leaderboards (kept by kudos, and copied by the
schedule's digest) are kept in the bot's one place for preferences, and stay hidden."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from opsbot.people import People
from opsbot.state import MIGRATIONS
from opsbot.storage import Storage, _upgrade
from opsbot_plugins.kudos.plugin import Kudos
from opsbot_plugins.schedule.plugin import Schedule


async def test_opt_outs_move_to_the_preferences(tmp_path: Path) -> None:
    storage = Storage(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    await storage.connect()
    kudos, schedule = Kudos.migrations_dir(), Schedule.migrations_dir()
    assert kudos is not None and schedule is not None
    async with storage.engine.begin() as conn:
        await conn.run_sync(_upgrade, "opsbot", MIGRATIONS, "opsbot_0003")
        await conn.run_sync(_upgrade, "kudos", kudos, "kudos_0001")
        await conn.run_sync(_upgrade, "schedule", schedule, "schedule_0001")
        await conn.execute(text("INSERT INTO kudos_optout VALUES ('irc', 'bob')"))
        await conn.execute(
            text(
                "INSERT INTO schedule_optouts VALUES ('irc', 'bob', :t), ('irc', 'dave', :t),"
                " ('irc', 'carol', :f)"
            ),
            {"t": True, "f": False},
        )
    await storage.migrate([("opsbot", MIGRATIONS), ("kudos", kudos), ("schedule", schedule)])
    people = People(storage)
    await people.load()
    assert people.everyone_hidden() == {("irc", "bob"), ("irc", "dave")}
    assert people.hidden([("matrix", "@bob:example.org"), ("irc", "bob")])
    assert not people.hidden([("irc", "carol")])
    await storage.close()
