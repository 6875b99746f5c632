"""Upgrading from 0.10: the pad lines that waited in the plugin's own outbox move to the core
outbox with their IDs (the markers in the pads are those IDs), waiting ones still wait, and a
new entry never takes an old ID."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text

from opsbot.outbox import Outbox
from opsbot.state import MIGRATIONS
from opsbot.storage import Storage, _upgrade
from opsbot_plugins.etherpad.outbox import marker, target
from opsbot_plugins.etherpad.plugin import Etherpad


async def test_waiting_pad_lines_move_to_the_core_outbox_with_their_ids(tmp_path: Path) -> None:
    await check_the_move(f"sqlite+aiosqlite:///{tmp_path}/bot.db")


async def check_the_move(url: str) -> None:
    """On SQLite here, and on a real PostgreSQL in the integration tests."""
    storage = Storage(url)
    await storage.connect()
    versions = Etherpad.migrations_dir()
    assert versions is not None
    async with storage.engine.begin() as conn:
        await conn.run_sync(_upgrade, "opsbot", MIGRATIONS, "opsbot_0002")
        await conn.run_sync(_upgrade, "etherpad", versions, "etherpad_0002")
        when = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
        for row_id, state, seq in ((7, "done", 3), (9, "pending", 4)):
            await conn.execute(
                text(
                    "INSERT INTO etherpad_outbox (id, server, pad, text, network, room, state,"
                    " attempts, created_at, meeting_id, item_seq) VALUES (:id, 'ops', 'pad-1',"
                    " :text, 'irc', '#ops', :state, 0, :when, 12, :seq)"
                ),
                {"id": row_id, "text": f"line {row_id}", "state": state, "when": when, "seq": seq},
            )
    await storage.migrate([("opsbot", MIGRATIONS), ("etherpad", versions)])
    async with storage.engine.connect() as conn:
        moved = (
            await conn.execute(
                text("SELECT id, channel, target, ref, state FROM opsbot_outbox ORDER BY id")
            )
        ).all()
        assert [tuple(row) for row in moved] == [
            (7, "etherpad", target("ops", "pad-1"), "12:3", "done"),
            (9, "etherpad", target("ops", "pad-1"), "12:4", "pending"),
        ]
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "opsbot_outbox" in tables and "etherpad_outbox" not in tables

    outbox = Outbox(storage)
    await outbox.start()
    outbox.add("etherpad", target("ops", "pad-1"), {"text": "new", "replaces": None})
    await outbox.writer.flush()
    async with storage.engine.connect() as conn:
        newest = (await conn.execute(text("SELECT max(id) FROM opsbot_outbox"))).scalar()
    assert newest == 10 and marker(10) != marker(9)
    await outbox.stop()
    await storage.close()


async def test_lines_in_the_old_spool_reach_the_core_outbox(tmp_path: Path) -> None:
    """0.10 was stopped while the database was away: its pad lines waited in its own spool."""
    from opsbot.spool import Spool
    from opsbot_plugins.etherpad.outbox import LEGACY_WRITER, adopt_legacy_spool

    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    old = Spool(spool_dir / f"{LEGACY_WRITER.replace(' ', '-')}.jsonl")
    old.open()
    old.append(1, {"op": "add", "server": "ops", "pad": "pad-1", "text": "ACTION (bob): upgrade",
                   "network": "irc", "room": "#ops", "meeting_id": 3, "item_seq": 8})  # fmt: skip
    old.append(2, {"op": "scrub", "meeting_id": 3, "seq": 8, "text": "ACTION: [message removed]"})
    old.write()
    old.close()

    storage = Storage(f"sqlite+aiosqlite:///{tmp_path}/bot.db", spool_dir=spool_dir)
    await storage.connect()
    await storage.migrate([("opsbot", MIGRATIONS), ("etherpad", Etherpad.migrations_dir())])
    outbox = Outbox(storage)
    await outbox.start()
    await adopt_legacy_spool(storage, outbox)
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT target, ref, payload FROM opsbot_outbox"))).all()
    assert len(rows) == 1 and rows[0][:2] == (target("ops", "pad-1"), "3:8")
    assert "[message removed]" in rows[0][2] and "upgrade" not in rows[0][2]
    assert not old.path.exists(), "read once, then gone"
    await adopt_legacy_spool(storage, outbox)  # nothing left: nothing added twice
    async with storage.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM opsbot_outbox"))).scalar() == 1
    await outbox.stop()
    await storage.close()
