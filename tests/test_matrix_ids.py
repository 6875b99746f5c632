"""Matrix room IDs and aliases of every room version."""

from __future__ import annotations

import pytest

from opsbot.matrix_ids import is_alias, is_room, is_room_id


@pytest.mark.parametrize(
    "room_id",
    [
        "!e8yRfVguNhiuD1nISuZFS5q8pPxnP_PnEJ6ouZEmeqs",  # version 12
        "!r7SLHnemLSIAZQ9uQwCk8nNkaghJEeCRAWDhiS_EWU4",
        "!OGEhHVWSdvArJzumhm:matrix.org",  # versions 1-11
        "!abc:localhost:8448",
    ],
)
def test_room_ids(room_id: str) -> None:
    assert is_room_id(room_id) and is_room(room_id) and not is_alias(room_id)


@pytest.mark.parametrize("alias", ["#ops:example.org", "#openstack-operators:localhost:8448"])
def test_aliases(alias: str) -> None:
    assert is_alias(alias) and is_room(alias) and not is_room_id(alias)


@pytest.mark.parametrize(
    "text",
    ["", "!", "ops", "#ops", "#:server", "! x", "!a b:c", "@alice:example.org", "!" + "a" * 255],
)
def test_not_rooms(text: str) -> None:
    assert not is_room(text)
