"""A TCP proxy in front of a server that can be cut as a network link is cut: from the moment
of the cut nothing passes either way and no side is told (no FIN, no RST), as when a cable is
pulled or a firewall drops the packets. The server's side is closed later, after the time its
TCP keepalives would take to find the client gone (a proxy's own socket would answer the
server's probes, which a cut link never does)."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableLink:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.listen_port = 0
        self._server: asyncio.Server | None = None
        self._cut = asyncio.Event()
        self._upstreams: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        return self.listen_port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut.is_set():
            return  # a new connection across a cut link never completes its exchange
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self._upstreams.append(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await source.read(65536):
                if self._cut.is_set():
                    return
                sink.write(data)
                await sink.drain()

    def cut(self, server_notices_after: float) -> None:
        """Cut the link now; the server finds its clients gone ``server_notices_after`` s later."""
        self._cut.set()
        asyncio.get_running_loop().call_later(server_notices_after, self._server_notices)

    def _server_notices(self) -> None:
        for writer in self._upstreams:
            writer.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for writer in self._upstreams:
            writer.transport.abort()
