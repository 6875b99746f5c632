"""Every kudos test runs twice: on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from opsbot.testing import BotFactory, TestBot
from tests.integration.postgresserver import PostgresServer

KudosFactory = Callable[..., Awaitable[TestBot]]
PLUGINS = ("core", "meetings", "kudos")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/kudos.db"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def kudos_bot(bot_factory: BotFactory, database_url: str) -> KudosFactory:
    """Bots on this test's database (the same one for every bot a test makes: a restart)."""

    async def make(config: dict[str, Any] | None = None) -> TestBot:
        merged = {"database": {"url": database_url}, **(config or {})}
        return await bot_factory(plugins=PLUGINS, config=merged)

    return make
