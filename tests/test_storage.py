"""Storage: SQLite in WAL mode, per-plugin migrations, clear errors when the database is away."""

from __future__ import annotations

import asyncio
import socket
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from opsbot.storage import Storage, StorageUnavailable, declared_head
from opsbot_plugins.core.plugin import Core


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sqlite_is_created_in_wal_mode_with_its_folder(tmp_path: Path) -> None:
    storage = Storage(f"sqlite+aiosqlite:///{tmp_path}/deep/er/bot.db")
    await storage.connect()
    try:
        async with storage.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (tmp_path / "deep/er/bot.db").exists()
    finally:
        await storage.close()


async def check_migrations(url: str) -> None:
    """Per-plugin migrations create their tables and version table, and run again as no-ops."""
    storage = Storage(url)
    await storage.connect()
    try:
        plugins = [("core", Core.migrations_dir())]
        assert await storage.revisions(plugins) == {"core": None}
        assert await storage.migrate(plugins) == {"core": "core_0001"}
        assert await storage.migrate(plugins) == {"core": "core_0001"}
        assert await storage.revisions(plugins) == {"core": "core_0001"}
        async with storage.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"core_rooms", "alembic_version_core"} <= tables
    finally:
        await storage.close()


async def test_migrations_run_per_plugin_and_are_idempotent(tmp_path: Path) -> None:
    await check_migrations(f"sqlite+aiosqlite:///{tmp_path}/bot.db")


async def test_an_unreachable_server_is_a_clear_error() -> None:
    storage = Storage(
        f"postgresql+asyncpg://opsbot:hunter2@127.0.0.1:{free_port()}/opsbot", connect_timeout=5
    )
    with pytest.raises(StorageUnavailable) as caught:
        await storage.connect()
    message = str(caught.value)
    assert message.startswith(
        "cannot reach the database at postgresql+asyncpg://opsbot:***@127.0.0.1:"
    )
    assert "hunter2" not in message


async def test_an_unwritable_sqlite_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageUnavailable, match="cannot create the database folder"):
        await Storage(f"sqlite+aiosqlite:///{blocker}/sub/bot.db").connect()


async def test_bad_urls_and_missing_drivers_are_clear_errors() -> None:
    with pytest.raises(StorageUnavailable, match="is not a database URL"):
        await Storage("not a url").connect()
    with pytest.raises(StorageUnavailable, match="no driver for postgresql\\+nosuchdriver"):
        await Storage("postgresql+nosuchdriver://x@127.0.0.1/db").connect()


async def test_session_before_connect_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="not connected"):
        Storage("sqlite+aiosqlite://").session()


def test_declared_head_is_read_from_the_revision_files(tmp_path: Path) -> None:
    versions = Core.migrations_dir()
    assert versions is not None and declared_head(versions) == "core_0001"
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    assert declared_head(str(tmp_path)) == "b"
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')  # two heads
    assert declared_head(str(tmp_path)) is None
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')  # a merge
    assert declared_head(str(tmp_path)) is None


async def test_a_database_at_head_is_checked_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    plugins = [("core", Core.migrations_dir())]
    storage = Storage(url)
    await storage.connect()
    await storage.migrate(plugins)
    await storage.close()
    code = (
        "import asyncio, sys\n"
        "from opsbot.storage import Storage\n"
        "from opsbot_plugins.core.plugin import Core\n"
        "async def main():\n"
        f"    s = Storage({url!r})\n"
        "    await s.connect()\n"
        "    print(await s.migrate([('core', Core.migrations_dir())]))\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert out.decode().splitlines() == ["{'core': 'core_0001'}", "False"], err.decode()
