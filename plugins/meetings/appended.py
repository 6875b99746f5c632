"""An immutable sequence that grows at one end in constant time, for the meeting's state.

``Appended`` is a value: ``items.plus(x)`` is a new sequence one longer, and ``items`` stays as
it was. The newest sequence shares its storage with the ones it was made from (each sees only
its own length), so a meeting of thousands of items does not copy them all for each new one, as
a tuple would. Appending to an older one copies its part first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class Appended(Sequence[T], Generic[T]):
    __slots__ = ("_length", "_store")

    def __init__(self, items: Sequence[T] = ()) -> None:
        self._store: list[T] = list(items)
        self._length = len(self._store)

    @classmethod
    def _sharing(cls, store: list[T], length: int) -> Appended[T]:
        made = cls.__new__(cls)
        made._store, made._length = store, length
        return made

    def plus(self, item: T) -> Appended[T]:
        store = self._store
        if not self._length or len(store) != self._length:
            # A longer one was made from this one already (or this is an empty one, which may
            # be a shared default): this one's part is copied first.
            store = store[: self._length]
        store.append(item)
        return self._sharing(store, self._length + 1)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Appended[T]: ...

    def __getitem__(self, index: int | slice) -> T | Appended[T]:
        if isinstance(index, slice):
            return Appended(self._store[: self._length][index])
        if not -self._length <= index < self._length:
            raise IndexError("index out of range")
        return self._store[index % self._length]

    def __iter__(self) -> Iterator[T]:
        return islice(self._store, self._length)

    def __reversed__(self) -> Iterator[T]:
        return reversed(self._store[: self._length])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Appended, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Appended({list(self)!r})"
