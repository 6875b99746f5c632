"""Group commit with a spool: what the database lacked after a crash is written once, in
order, before anything reads; a spool another process holds is left alone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from opsbot.groupcommit import GroupCommit
from opsbot.state import OpsbotBase
from opsbot.storage import Storage

ROWS = Table("rows", MetaData(), Column("n", Integer, primary_key=True), Column("t", String))


async def storage_at(tmp_path: Path) -> Storage:
    storage = Storage(f"sqlite+aiosqlite:///{tmp_path}/bot.db", spool_dir=tmp_path / "spool")
    await storage.connect()
    async with storage.engine.begin() as conn:
        await conn.run_sync(OpsbotBase.metadata.create_all)
        await conn.run_sync(ROWS.metadata.create_all)
    return storage


async def write(items: list[dict[str, object]], conn: AsyncConnection) -> None:
    await conn.execute(insert(ROWS), items)


async def stored(storage: Storage) -> list[tuple[int, str]]:
    async with storage.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(select(ROWS).order_by(ROWS.c.n))).all()]  # type: ignore[misc]


async def test_a_crash_before_the_database_had_them_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    storage = await storage_at(tmp_path)
    first = GroupCommit(write, name="rows writer", storage=storage)
    await first.start()
    first.add({"n": 1, "t": "committed"})
    await first.flush()
    assert first.spool is not None and first.spool.path.stat().st_size == 0
    first._task.cancel()  # type: ignore[union-attr]  # the process dies: nothing flushed
    first.add({"n": 2, "t": "only in the spool"})
    first.add({"n": 3, "t": "also"})
    first.spool.close()
    first._lock.close()
    await storage.close()

    storage = await storage_at(tmp_path)
    again = GroupCommit(write, name="rows writer", storage=storage)
    await again.start()
    assert await stored(storage) == [(1, "committed"), (2, "only in the spool"), (3, "also")]
    again.add({"n": 4, "t": "new"})
    await again.stop()
    assert (await stored(storage))[-1] == (4, "new")
    await storage.close()


async def test_the_watermark_skips_what_was_committed_but_not_yet_cleared(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    writer = GroupCommit(write, name="rows writer", storage=storage)
    await writer.start()
    writer._task.cancel()  # type: ignore[union-attr]
    writer.add({"n": 1, "t": "a"})
    writer.add({"n": 2, "t": "b"})
    await writer._commit(writer._items)  # committed with its watermark; killed before clearing
    writer.spool.close()  # type: ignore[union-attr]
    writer._lock.close()
    again = GroupCommit(write, name="rows writer", storage=storage)
    await again.start()  # would fail on the primary key if it wrote them twice
    assert await stored(storage) == [(1, "a"), (2, "b")]
    await again.stop()
    await storage.close()


async def test_a_spool_held_by_another_process_is_left_alone(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    bot = GroupCommit(write, name="rows writer", storage=storage)
    await bot.start()
    tool = GroupCommit(write, name="rows writer", storage=storage)
    await tool.start()
    assert bot.spool is not None and tool.spool is None
    tool.add({"n": 1, "t": "from the tool"})
    await tool.stop()
    await bot.stop()
    assert await stored(storage) == [(1, "from the tool")]
    await storage.close()


async def test_a_spool_that_cannot_be_written_costs_no_item(tmp_path: Path) -> None:
    storage = await storage_at(tmp_path)
    writer = GroupCommit(write, name="rows writer", storage=storage)
    await writer.start()
    assert writer.spool is not None
    writer.add({"n": 1, "t": "kept", "x": lambda: None})  # cannot be pickled for the spool
    writer._write_spool()  # fails, logged; the item still reaches the database
    writer.add({"n": 2, "t": "next"})
    await writer.flush()
    assert await stored(storage) == [(1, "kept"), (2, "next")]
    await writer.stop()
    await storage.close()
