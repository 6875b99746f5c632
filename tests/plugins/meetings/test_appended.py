"""The meeting state's append-only sequence: a value, whichever of its versions grows."""

from __future__ import annotations

import pytest

from opsbot_plugins.meetings.appended import Appended


def test_each_version_keeps_its_own_items() -> None:
    empty: Appended[int] = Appended()
    one = empty.plus(1)
    two = one.plus(2)
    other = one.plus(20)  # grows an older version: must not change `two`
    assert list(empty) == [] and list(one) == [1]
    assert list(two) == [1, 2] and list(other) == [1, 20]
    assert two[-1] == 2 and other[-1] == 20 and len(one) == 1
    assert Appended().plus(5) == (5,) and empty == ()
    with pytest.raises(IndexError):
        one[1]


def test_slices_and_equality_are_those_of_a_sequence() -> None:
    items = Appended([1, 2, 3]).plus(4)
    assert items[:-1] == [1, 2, 3] and items[1:3] == (2, 3)
    assert list(reversed(items)) == [4, 3, 2, 1] and 3 in items and items.index(4) == 3
    assert items == Appended([1, 2, 3, 4]) and hash(items) == hash((1, 2, 3, 4))
    assert items != [1, 2, 3]
