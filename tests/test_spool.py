"""The local spool: records survive a reopen, a cut last line is dropped, compaction keeps the
waiting ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsbot import spool as spool_module
from opsbot.spool import Spool, encode, frames


def test_items_round_trip_with_times(tmp_path: Path) -> None:
    at = datetime(2026, 12, 3, 15, 0, 1, 250000, tzinfo=UTC)
    item = {"ts": at, "text": "über", "nested": [{"when": at}], "none": None}
    assert list(frames(encode([(7, item), (8, "next")]))) == [(7, item), (8, "next")]


def test_reopened_spool_returns_what_was_appended_and_drops_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "s" / "writer.jsonl"
    spool = Spool(path)
    assert spool.open() == []
    spool.append(1, {"a": 1})
    spool.append(2, ["kudos", {"b": 2}])
    spool.write()
    spool.sync()
    spool.close()
    with path.open("ab") as out:
        out.write(encode([(3, {"c": 3})])[:-4])  # the process was killed in mid-write
    again = Spool(path)
    assert again.open() == [(1, {"a": 1}), (2, ["kudos", {"b": 2}])]
    again.clear()
    assert path.stat().st_size == 0
    again.append(4, "after")
    again.close()  # writes what it gathered
    assert Spool(path).open() == [(4, "after")]


def test_a_large_spool_is_compacted_to_what_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "COMPACT_BYTES", 100)
    spool = Spool(tmp_path / "w.jsonl")
    spool.open()
    for seq in range(1, 20):
        spool.append(seq, f"line {seq}")
        spool.write()
    spool.append(19, "line 19")  # gathered, not yet written: the compacted file has it
    spool.compact([(18, "line 18"), (19, "line 19")])
    spool.append(20, "line 20")
    spool.close()
    assert Spool(tmp_path / "w.jsonl").open() == [
        (18, "line 18"),
        (19, "line 19"),
        (20, "line 20"),
    ]
