"""opsbot kudos top|export, as real processes, on a database a bot filled."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from opsbot.testing import BotFactory, run_opsbot

PLUGINS = ("core", "meetings", "kudos")


def opsbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_opsbot(*args, cwd=cwd)


async def test_top_and_export(bot_factory: BotFactory, tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    bot = await bot_factory(plugins=PLUGINS, database=db)
    for nick in ("alice", "bob", "carol"):
        await bot.irc.say(nick, "o/")
    await bot.irc.say(
        "alice", "!kudos bob #rootcause for https://bugs.launchpad.net/nova/+bug/2045678"
    )
    await bot.irc.say("carol", "!kudos bob #review for the spec")
    await bot.irc.say("bob", "!kudos carol for the docs")
    await bot.bot.stop()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{db}'}}\n"
        "networks: [{type: memory, name: irc}]\n"
        "plugins: {enabled: [core, kudos]}\n"
    )
    top = opsbot("kudos", "top", "-c", str(config), cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    assert top.stdout.splitlines() == ["     2  bob", "     1  carol"]
    only = opsbot("kudos", "top", "--category", "rootcause", "-c", str(config), cwd=tmp_path)
    assert only.stdout.splitlines() == ["     1  bob"]
    exported = opsbot("kudos", "export", "--format", "json", "-c", str(config), cwd=tmp_path)
    rows = json.loads(exported.stdout)
    assert [(r["giver"], r["receiver"], r["category"]) for r in rows] == [
        ("irc:alice", "irc:bob", "rootcause"),
        ("irc:carol", "irc:bob", "review"),
        ("irc:bob", "irc:carol", "general"),
    ]
    assert rows[0]["evidence"] == ["https://bugs.launchpad.net/nova/+bug/2045678"]
    as_csv = opsbot("kudos", "export", "-c", str(config), cwd=tmp_path)
    assert as_csv.stdout.splitlines()[0].startswith("id,time,network,room,giver,giver_nick")
    assert len(as_csv.stdout.splitlines()) == 4
    bad = opsbot("kudos", "export", "--since", "last week", "-c", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and "is not a date" in bad.stderr
