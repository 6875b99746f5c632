"""The core on a real PostgreSQL server: migrations, plugin state, restarts, several processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from opsbot.storage import Storage
from opsbot.testing import BotFactory
from opsbot_plugins.core.models import JoinedRoom
from opsbot_plugins.core.plugin import Core

from ..plugins.etherpad.test_migration import check_the_move
from ..test_storage import check_migrations
from .postgresserver import PostgresServer


async def test_migrations_run_on_postgresql_and_are_idempotent(postgres: PostgresServer) -> None:
    await check_migrations(postgres.create_database())


async def test_pad_lines_move_to_the_core_outbox_on_postgresql(postgres: PostgresServer) -> None:
    await check_the_move(postgres.create_database())


async def test_bots_starting_together_on_one_store_migrate_once(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    stores = [Storage(url) for _ in range(4)]
    for store in stores:
        await store.connect()
    try:
        plugins = [("core", Core.migrations_dir())]
        results = await asyncio.gather(*(store.migrate(plugins) for store in stores))
        assert results == [{"core": "core_0001"}] * 4
    finally:
        for store in stores:
            await store.close()


async def test_the_bot_keeps_its_state_in_postgresql_across_a_restart(
    postgres: PostgresServer, bot_factory: BotFactory
) -> None:
    url = postgres.create_database()
    first = await bot_factory(config={"database": {"url": url}})
    assert await first.irc.say("admin", "!join #ops") == ["Joined #ops."]
    assert await first.irc.say("alice", "!ping") == ["pong"]
    await first.bot.stop()

    second = await bot_factory(config={"database": {"url": url}})
    await second.irc.settle()
    assert "#ops" in {room.id for room in second.irc.transport.rooms()}
    async with second.bot.storage.session() as session:
        rows = (await session.scalars(select(JoinedRoom))).all()
    assert [(r.network, r.room, r.joined_by) for r in rows] == [("irc", "#ops", "admin")]
    assert rows[0].joined_at.tzinfo is not None


def test_opsbot_db_upgrade_against_postgresql(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database()
    config = tmp_path / "pg.yaml"
    config.write_text(f"database: {{url: '{url}'}}\n")
    for _ in range(2):  # a second upgrade finds nothing to do
        done = subprocess.run(
            [sys.executable, "-m", "opsbot", "db", "upgrade", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == (
            "opsbot: at opsbot_0005\ncore: at core_0001\nmeetings: at meetings_0004\n"
        )


def test_a_console_bot_runs_on_postgresql(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database()
    config = tmp_path / "pg.yaml"
    config.write_text(
        f"database: {{url: '{url}'}}\nbot: {{admins: ['console:you']}}\n"
        "web: {listen: '127.0.0.1:0'}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "opsbot", "run", "-c", str(config)],
        input="!ping\n!plugins\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "<opsbot> pong"
