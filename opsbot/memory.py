"""Giving memory back to the system once a burst of work is over (start-up, a meeting's end).

CPython returns its own small-object arenas when they empty, but memory that C code and large
objects took from glibc's malloc stays with the process until ``malloc_trim`` hands the free
pages back. On other C libraries this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back() -> bool:
    """Hand malloc's free pages back to the system; whether there was a way to."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
