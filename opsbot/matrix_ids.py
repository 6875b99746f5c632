"""Matrix room IDs and aliases as the current spec writes them, for every room version (1-12).

Room versions 1 to 11 make room IDs ``!opaque:server``. Room version 12, Synapse's default since
2025, makes them ``!`` and the create event's reference hash (43 characters of unpadded
URL-safe base64) with no server part at all: ``!e8yRfVguNhiuD1nISuZFS5q8pPxnP_PnEJ6ouZEmeqs``.
Aliases are always ``#localpart:server``. Both are at most 255 characters long. Config, the
Matrix transport and ``!join`` all check room names here, so they agree on what a room is.
"""

from __future__ import annotations

import re

MAX_LENGTH = 255
_ROOM_ID = re.compile(r"![^\s:]+(?::\S+)?")
_ALIAS = re.compile(r"#[^\s:]+:\S+")
WHAT = "a Matrix room ID (!id or !id:server) or alias (#name:server)"
"""What :func:`is_room` accepts, in words for error messages."""


def is_room_id(text: str) -> bool:
    """``!opaque:server`` (room versions 1-11) or ``!hash`` (room version 12 on)."""
    return len(text) <= MAX_LENGTH and _ROOM_ID.fullmatch(text) is not None


def is_alias(text: str) -> bool:
    return len(text) <= MAX_LENGTH and _ALIAS.fullmatch(text) is not None


def is_room(text: str) -> bool:
    """A room ID or an alias: what may name a room in config, ``!join`` and room overrides."""
    return is_room_id(text) or is_alias(text)
