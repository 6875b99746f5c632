"""The Matrix round-trip floor, as its own process like the bot: a bare matrix-nio client that
syncs and answers each ``!ping`` in any room with an m.notice ``pong``, nothing else.

Run: ``python bench/support/matrix_echo.py HOMESERVER USER_ID PASSWORD``.
"""

from __future__ import annotations

import asyncio
import sys

import nio


async def main(homeserver: str, user_id: str, password: str) -> None:
    client = nio.AsyncClient(homeserver, user_id)
    await client.login(password)
    token: str | None = None
    while True:
        answer = await client.sync(timeout=30_000 if token else 0, since=token)
        if not isinstance(answer, nio.SyncResponse):
            await asyncio.sleep(0.1)
            continue
        first, token = token is None, answer.next_batch
        for room_id in answer.rooms.invite:
            await client.join(room_id)
        if first:
            continue  # history
        for room_id, info in answer.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, nio.RoomMessageText) and event.body == "!ping":
                    await client.room_send(
                        room_id, "m.room.message", {"msgtype": "m.notice", "body": "pong"}
                    )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
