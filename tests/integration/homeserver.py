"""A real Matrix homeserver for the tests: Synapse from PyPI (in .servers/synapse, installed by
``make servers``) with SQLite, on a free loopback port; users registered with the shared secret;
and a small matrix-nio client to play the people."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nio

from .ircserver import free_port
from .processes import stop_process, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
SYNAPSE_PYTHON = ROOT / ".servers" / "synapse" / "bin" / "python"
SERVER_NAME = "localhost"
LIMITS = {"per_second": 10_000, "burst_count": 100_000}


def _config(folder: Path, port: int, secret: str) -> dict[str, Any]:
    return {
        "server_name": SERVER_NAME,
        "pid_file": str(folder / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "log_config": str(folder / "log.yaml"),
        "media_store_path": str(folder / "media"),
        "registration_shared_secret": secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "signing_key_path": str(folder / "signing.key"),
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_registration": False,
        "rc_message": LIMITS,
        "rc_registration": LIMITS,
        "rc_login": {"address": LIMITS, "account": LIMITS, "failed_attempts": LIMITS},
        "rc_joins": {"local": LIMITS, "remote": LIMITS},
        "rc_joins_per_room": LIMITS,
        "rc_invites": {"per_room": LIMITS, "per_user": LIMITS, "per_issuer": LIMITS},
        "rc_room_creation": LIMITS,
        "rc_admin_redaction": LIMITS,
        "rc_3pid_validation": LIMITS,
        "rc_presence": {"per_user": LIMITS},
    }


LOG_CONFIG = """version: 1
formatters: {plain: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}
handlers:
  file: {class: logging.FileHandler, formatter: plain, filename: LOGFILE}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


class Homeserver:
    """One Synapse; ``start``/``stop`` may be called again (a restart keeps its data)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "log.yaml").write_text(LOG_CONFIG.replace("LOGFILE", str(folder / "hs.log")))
        (folder / "hs.yaml").write_text(json.dumps(_config(folder, self.port, self.secret)))

    def start(self, timeout: float = 60) -> None:
        if not SYNAPSE_PYTHON.exists():
            raise RuntimeError(f"{SYNAPSE_PYTHON} is missing: run `make servers`")
        config = str(self.folder / "hs.yaml")
        if not (self.folder / "signing.key").exists():
            subprocess.run(
                [SYNAPSE_PYTHON, "-m", "synapse.app.homeserver", "-c", config, "--generate-keys"],
                check=True,
                capture_output=True,
            )
        output = (self.folder / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [SYNAPSE_PYTHON, "-m", "synapse.app.homeserver", "-c", config],
            cwd=self.folder,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        wait_until_answering(
            self.process,
            f"{self.url}/health",
            lambda body: body == b"OK",
            what="Synapse",
            log_tail=self.log_tail,
            timeout=timeout,
        )

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def log_tail(self) -> str:
        logs = [self.folder / "stdout.log", self.folder / "hs.log"]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())

    def register(self, name: str, password: str, *, admin: bool = False) -> str:
        """Create a user with the shared secret; returns the user ID."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        with urllib.request.urlopen(endpoint, timeout=10) as answer:
            nonce = json.load(answer)["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode()]))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        body = {
            "nonce": nonce,
            "username": name,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        request = urllib.request.Request(
            endpoint, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(json.load(answer)["user_id"])


class MatrixPerson:
    """One human with a matrix-nio client that syncs in the background and keeps every room
    message it sees."""

    def __init__(self, homeserver: Homeserver, name: str, *, e2e: bool = False) -> None:
        self.name = name
        self.password = f"pw-{name}-{secrets.token_hex(4)}"
        self.user_id = homeserver.register(name, self.password)
        self.e2e = e2e
        store: dict[str, Any] = {}
        if e2e:
            folder = homeserver.folder / "people" / name
            folder.mkdir(parents=True, exist_ok=True)
            store = {"store_path": str(folder)}
        self.client = nio.AsyncClient(
            homeserver.url,
            self.user_id,
            config=nio.AsyncClientConfig(encryption_enabled=e2e),
            **store,
        )
        self.events: list[Any] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, homeserver: Homeserver, name: str, *, e2e: bool = False) -> MatrixPerson:
        person = cls(homeserver, name, e2e=e2e)
        answer = await person.client.login(person.password, device_name="test")
        assert isinstance(answer, nio.LoginResponse), answer
        first = await person.client.sync(timeout=1000)
        assert isinstance(first, nio.SyncResponse), first
        await person._keep_keys()
        person._task = asyncio.create_task(person._sync())
        return person

    async def _sync(self) -> None:
        while True:
            try:
                answer = await self.client.sync(timeout=10_000, since=self.client.next_batch)
            except Exception:
                await asyncio.sleep(0.2)
                continue
            if not isinstance(answer, nio.SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id, info in answer.rooms.join.items():
                for event in info.timeline.events:
                    self.events.append((room_id, event))
            self._new.set()
            await self._keep_keys()

    async def _keep_keys(self) -> None:
        if not self.e2e:
            return
        client = self.client
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def create_room(
        self,
        *,
        invite: list[str],
        power: dict[str, int] | None = None,
        encrypted: bool = False,
        name: str | None = None,
        private: bool = False,
        version: str | None = None,
    ) -> str:
        """A room of the homeserver's default version (or ``version``); ``private`` makes it
        as a person does in a client: invite-only, with a name."""
        # In current room versions the creator's power is implicit and may not be listed.
        state = [
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ]
        answer = await self.client.room_create(
            invite=invite,
            power_level_override={"users": power} if power else None,
            initial_state=state if encrypted else (),
            name=name,
            preset=nio.RoomPreset.private_chat if private else None,
            room_version=version,
        )
        assert isinstance(answer, nio.RoomCreateResponse), answer
        return str(answer.room_id)

    async def room_version(self, room_id: str) -> str:
        create = await self.client.room_get_state_event(room_id, "m.room.create")
        assert isinstance(create, nio.RoomGetStateEventResponse), create
        return str(create.content.get("room_version", "1"))

    async def join(self, room_id: str) -> None:
        answer = await self.client.join(room_id)
        assert isinstance(answer, nio.JoinResponse), answer

    async def say(self, room_id: str, text: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": text, **extra}
        answer = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, nio.RoomSendResponse), answer
        return str(answer.event_id)

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        return await self.say(
            room_id,
            f"* {text}",
            **{
                "m.new_content": {"msgtype": "m.text", "body": text},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
        )

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """A reaction (``m.annotation``) to ``event_id``; its own event ID."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        answer = await self.client.room_send(
            room_id, "m.reaction", content, ignore_unverified_devices=True
        )
        assert isinstance(answer, nio.RoomSendResponse), answer
        return str(answer.event_id)

    async def redact(self, room_id: str, event_id: str) -> None:
        answer = await self.client.room_redact(room_id, event_id, reason="oops")
        assert isinstance(answer, nio.RoomRedactResponse), answer

    def messages(self, room_id: str, sender: str | None = None) -> list[Any]:
        return [
            event
            for room, event in self.events
            if room == room_id
            and isinstance(event, nio.RoomMessage)
            and (sender is None or event.sender == sender)
        ]

    async def wait_for(
        self, match: Callable[[Any], bool], room_id: str, within: float = 20, since: int = 0
    ) -> Any:
        """The first room message from ``since`` (an index into :attr:`events`) that matches."""
        deadline = asyncio.get_running_loop().time() + within
        seen = since
        while True:
            for room, event in self.events[seen:]:
                if room == room_id and isinstance(event, nio.RoomMessage) and match(event):
                    return event
            seen = len(self.events)
            self._new.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                recent = [getattr(e, "body", e) for _, e in self.events[-5:]]
                raise TimeoutError(f"{self.name} never saw the expected message; last: {recent}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)
