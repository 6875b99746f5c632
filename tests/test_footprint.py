"""A bot loads only what its config uses (issue 20): with an IRC network, the core and the
meetings plugin, and the site off, no web server (aiohttp), no template engine, no Matrix
client or Markdown, no calendar library, and no Alembic: migrations due run in a child process.
Checked in a fresh interpreter, since this test process has loaded everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("aiohttp", "jinja2", "nio", "markdown_it", "nh3", "icalendar", "alembic", "feedgen")

SCRIPT = """
import asyncio, json, sys
from opsbot.bot import Bot
from opsbot.config import parse_config

config = parse_config({
    "database": {"url": "sqlite+aiosqlite:///%(folder)s/bot.db",
                 "spool_dir": "%(folder)s/spool"},
    "web": {"enabled": False},
    "networks": [{"type": "irc", "name": "oftc", "host": "127.0.0.1", "port": 9,
                  "tls": False, "nick": "opsbot", "channels": ["#ops"]}],
    "plugins": {"enabled": ["core", "meetings"],
                "meetings": {"output_dir": "%(folder)s/meetings"}},
}, env={})

async def main():
    bot = Bot(config)
    bot.migrate_apart = %(apart)s
    await bot.start()
    await bot.stop()

asyncio.run(main())
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded(folder: Path, apart: bool = False) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % {"folder": folder, "apart": apart}],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_an_irc_bot_without_a_site_loads_only_what_it_uses(tmp_path: Path) -> None:
    first = loaded(tmp_path)
    assert "alembic" in first, "the first start migrates"
    again = loaded(tmp_path)
    assert {"irc", "sqlalchemy", "aiosqlite"} <= again
    assert [name for name in HEAVY if name in again] == []


def test_opsbot_run_migrates_in_a_child_process(tmp_path: Path) -> None:
    """As ``opsbot run`` starts it: the first start's migrations run in a child process, so
    not even that start loads Alembic, and the database is then at its newest revisions."""
    first = loaded(tmp_path / "apart", apart=True)
    assert {"irc", "sqlalchemy"} <= first
    assert [name for name in HEAVY if name in first] == []
    again = loaded(tmp_path / "apart")
    assert "alembic" not in again, "the child left nothing to migrate"


async def test_a_child_that_cannot_migrate_leaves_it_to_the_bot(tmp_path: Path) -> None:
    from opsbot.migrate_apart import migrate_apart
    from opsbot.state import MIGRATIONS

    url = f"sqlite+aiosqlite:///{tmp_path}/missing/folder/bot.db"
    (tmp_path / "missing").write_text("a file where the folder should be")
    assert await migrate_apart(url, [("opsbot", MIGRATIONS)]) is False
