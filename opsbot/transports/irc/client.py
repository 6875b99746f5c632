"""The ``irc`` library's asyncio connection, asking for capabilities before it registers (so the
server holds registration for SASL)."""

from __future__ import annotations

from typing import Any

import irc.client_aio


class _Connection(irc.client_aio.AioConnection):  # type: ignore[misc]
    """Asks for capabilities before registering, so the server holds registration for SASL."""

    async def connect(
        self,
        server: str,
        port: int,
        nickname: str,
        username: str,
        ircname: str,
        connect_factory: Any,
    ) -> _Connection:
        self.buffer = self.buffer_class()
        self.handlers: dict[str, Any] = {}
        self.real_server_name = ""
        self.real_nickname = nickname
        self.server, self.port, self.server_address = server, port, (server, port)
        self.nickname, self.username, self.ircname = nickname, username, ircname
        self.password = None
        self.connect_factory = connect_factory
        protocol = self.protocol_class(self, self.reactor.loop)
        self.transport, self.protocol = await connect_factory(protocol, self.server_address)
        self.connected = True
        self.reactor._on_connect(self.protocol, self.transport)
        self.send_raw("CAP LS 302")
        self.nick(nickname)
        self.user(username, ircname)
        return self

    def _handle_event(self, event: Any) -> None:
        if event.type == "all_raw_messages":  # the library's copy of every line: nobody reads it
            return
        super()._handle_event(event)


class _Reactor(irc.client_aio.AioReactor):  # type: ignore[misc]
    connection_class = _Connection
