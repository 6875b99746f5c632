"""The round-trip floor as its own process, as every bot under measurement is: a bare asyncio
IRC client that joins #bench and answers each ``!ping`` with ``pong``, nothing else.

Run: ``python bench/support/echo_floor.py PORT NICK``.
"""

from __future__ import annotations

import asyncio
import socket
import sys


async def main(port: int, nick: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    while line := await reader.readline():
        if line.split(b" ", 2)[1:2] == [b"001"]:
            writer.write(b"JOIN #bench\r\n")
        elif line.startswith(b"PING"):
            writer.write(b"PONG" + line[4:])
        elif line.endswith(b" PRIVMSG #bench :!ping\r\n"):
            writer.write(b"PRIVMSG #bench :pong\r\n")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
