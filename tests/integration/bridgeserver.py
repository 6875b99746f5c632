"""A real IRC↔Matrix bridge for the tests: heisenbridge from PyPI (in .servers/heisenbridge,
installed by ``make servers``) between the tests' InspIRCd and a Synapse of its own, with a
Matrix room plumbed to an IRC channel the way an operator does it (the bridge's owner, in its
control room: ADDNETWORK, ADDSERVER, OPEN, CONNECT, then PLUMB in the network room)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from pathlib import Path

import nio

from .homeserver import Homeserver, MatrixPerson
from .ircserver import IrcNetwork, Person, free_port
from .processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
HEISENBRIDGE_PYTHON = ROOT / ".servers" / "heisenbridge" / "bin" / "python"
NETWORK = "test"
"""The bridge's name for the IRC network: its puppets are ``@irc_test_<nick>:localhost``."""


class Heisenbridge:
    """InspIRCd, Synapse and heisenbridge between them; ``restart`` restarts the bridge only."""

    def __init__(self, folder: Path) -> None:
        if not HEISENBRIDGE_PYTHON.exists():
            raise RuntimeError(f"{HEISENBRIDGE_PYTHON} is missing: run `make servers`")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "irc").mkdir(exist_ok=True)
        self.irc = IrcNetwork(folder / "irc")
        self.homeserver = Homeserver(folder / "hs")
        self.port = free_port()
        self.registration = folder / "heisenbridge.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self.owner: MatrixPerson | None = None
        self.control = ""
        self.network_room = ""

    def _command(self, *extra: str) -> list[str]:
        return [
            str(HEISENBRIDGE_PYTHON), "-m", "heisenbridge", "-c", str(self.registration),
            "-l", "127.0.0.1", "-p", str(self.port), *extra,
        ]  # fmt: skip

    def start_servers(self) -> None:
        self.irc.start()
        subprocess.run(self._command("--generate"), check=True, capture_output=True)
        config_file = self.homeserver.folder / "hs.yaml"
        config = json.loads(config_file.read_text())
        config["app_service_config_files"] = [str(self.registration)]
        config_file.write_text(json.dumps(config))
        self.homeserver.start()

    def start_bridge(self) -> None:
        assert self.owner is not None
        log = (self.folder / "heisenbridge.log").open("ab")
        self.process = subprocess.Popen(
            self._command("-o", self.owner.user_id, self.homeserver.url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop_bridge(self) -> None:
        stop_process(self.process)
        self.process = None

    def log_tail(self) -> str:
        path = self.folder / "heisenbridge.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    async def setup(self, owner: str = "hbowner") -> None:
        """The owner's account, the bridge started and connected to the IRC network."""
        self.owner = await MatrixPerson.connect(self.homeserver, owner)
        self.start_bridge()
        self.control = await self._invited()
        for command in (
            "ADDNETWORK test",
            f"ADDSERVER test 127.0.0.1 {self.irc.port}",
            "OPEN test",
        ):
            await self.tell(self.control, command)
        self.network_room = await self._invited()
        await self.tell(self.network_room, "CONNECT", expect="Welcome")

    async def _invited(self, within: float = 30) -> str:
        assert self.owner is not None
        client = self.owner.client
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"heisenbridge exited: {self.log_tail()}")
            for room_id in list(client.invited_rooms):
                answer = await client.join(room_id)
                assert isinstance(answer, nio.JoinResponse), answer
                del client.invited_rooms[room_id]
                return room_id
            await asyncio.sleep(0.2)
        raise RuntimeError(f"heisenbridge invited its owner to no room: {self.log_tail()}")

    async def tell(self, room_id: str, command: str, *, expect: str | None = None) -> None:
        """A command to the bridge, waiting for its answer (a notice containing ``expect``)."""
        assert self.owner is not None
        mark = len(self.owner.events)
        await self.owner.say(room_id, command)
        await self.owner.wait_for(
            lambda event: (
                event.sender != self.owner.user_id  # type: ignore[union-attr]
                and (expect is None or expect in getattr(event, "body", ""))
            ),
            room_id,
            within=30,
            since=mark,
        )

    async def plumb(self, room_id: str, channel: str) -> None:
        """Plumb ``room_id`` to ``channel``: the bridge joins both, Matrix people's lines reach
        IRC as ``<name> text`` from the owner's nick, IRC people are puppets in the room."""
        assert self.owner is not None
        watcher = await Person.connect(self.irc.port, "plumbwatch")
        await watcher.send(f"JOIN {channel}")
        await watcher.wait_for(lambda line: line.startswith(":plumbwatch!") and " JOIN " in line)
        await self.tell(self.network_room, f"PLUMB {room_id} {channel}")
        await watcher.wait_for(
            lambda line: line.startswith(f":{self.owner_nick}!") and " JOIN " in line,
            within=30,
        )
        with contextlib.suppress(Exception):
            await watcher.quit()

    async def use_matrix_ids(self, channel: str) -> None:
        """Relay Matrix people to IRC by Matrix ID (``<@carol:localhost> text``), not display
        name: the operator's ``ROOM #chan DISPLAYNAMES --disable`` in the network room."""
        assert self.owner is not None
        mark = len(self.owner.events)
        await self.owner.say(self.network_room, f"ROOM {channel} DISPLAYNAMES --disable")
        for _ in range(300):
            if any(
                "isplaynames are disabled" in getattr(e, "body", "")
                for _, e in self.owner.events[mark:]
            ):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"heisenbridge did not disable display names: {self.log_tail()}")

    @property
    def owner_nick(self) -> str:
        assert self.owner is not None
        return self.owner.user_id[1:].split(":", 1)[0]

    async def close(self) -> None:
        self.stop_bridge()
        if self.owner is not None:
            await self.owner.close()
        self.homeserver.stop()
        self.irc.stop()
