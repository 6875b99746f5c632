"""A real IRC network for the tests: InspIRCd 3 with Atheme services (SASL, NickServ), started
from Debian's packages on free loopback ports, and a minimal client to play the people."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "servers"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _no_core_dumps() -> None:
    """InspIRCd may dump core while stopping (its TLS module); never into the working tree."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def self_signed(key: Path, cert: Path, name: str, alt_names: str | None = None) -> str:
    """Make a self-signed certificate (2 days); returns its SHA-256 fingerprint as services
    show it (lower-case hex, no colons)."""
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"]
    if alt_names:
        command += ["-addext", f"subjectAltName={alt_names}"]
    subprocess.run(command, check=True, capture_output=True)
    digest = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return digest.split("=", 1)[1].strip().replace(":", "").lower()


class IrcNetwork:
    """InspIRCd + Atheme in a folder of their own; ``restart()`` keeps accounts and ports."""

    def __init__(
        self, folder: Path, strict: bool = False, bench: str | None = None, tls: bool = False
    ) -> None:
        """``bench``: path of a TCP_NODELAY preload library; the server is then tuned for
        latency and throughput measurements (RECIPES.md): big network buffer, no echo-message."""
        self.folder = folder
        self.port = free_port()
        self.link_port = free_port()
        self.strict = strict
        self.bench = bench
        self.tls_port = free_port() if tls else None
        self.certificate = folder / "cert.pem"
        """Self-signed for 127.0.0.1 and localhost: also the CA to trust it."""
        self._procs: list[subprocess.Popen[bytes]] = []

    def _write_configs(self) -> None:
        text = (HERE / "inspircd.conf").read_text()
        text = text.replace("DIR", str(self.folder)).replace('port="6667"', f'port="{self.port}"')
        text = text.replace('port="7000"', f'port="{self.link_port}"')
        if self.strict:  # Debian's default connect class: flood kills and fakelag, as real networks
            start = text.index('<connect name="main"')
            end = text.index(">", start)
            text = (
                text[:start]
                + '<connect name="main" allow="*" timeout="20" pingfreq="120" resolvehostnames="no" useident="no" localmax="1000" globalmax="1000">'
                + text[end + 1 :]
            )
        if self.tls_port is not None:
            if not self.certificate.exists():
                self_signed(
                    self.folder / "key.pem",
                    self.certificate,
                    "localhost",
                    "IP:127.0.0.1,DNS:localhost",
                )
            text += (
                '\n<module name="ssl_gnutls">\n<module name="sslinfo">\n'
                f'<sslprofile name="test" provider="gnutls" certfile="{self.certificate}" keyfile="{self.folder / "key.pem"}" hash="sha256">\n'
                f'<bind address="127.0.0.1" port="{self.tls_port}" type="clients" sslprofile="test">\n'
            )
        if self.bench:
            text = text.replace('netbuffersize="10240"', 'netbuffersize="65534"')
            text = text.replace('<module name="ircv3_echomessage">', "")
        (self.folder / "inspircd.conf").write_text(text)
        atheme = (
            (HERE / "atheme.conf").read_text().replace("port = 7000;", f"port = {self.link_port};")
        )
        (self.folder / "atheme.conf").write_text(atheme)

    def start(self) -> None:
        for tool in ("inspircd", "atheme-services"):
            if shutil.which(tool) is None:
                pytest.fail(
                    f"{tool} is not installed: run `make test`, which installs it from Debian"
                )
        self._write_configs()
        log = self.folder / "atheme.log"
        seen = log.read_text().count("finished synching") if log.exists() else 0
        env = {**os.environ, "LD_PRELOAD": self.bench} if self.bench else None
        ircd = subprocess.Popen(
            ["inspircd", "--config", str(self.folder / "inspircd.conf"), "--nofork", "--runasroot"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=self.folder,
            preexec_fn=_no_core_dumps,
        )
        self._procs = [ircd]
        self._wait(lambda: self._accepts(), "InspIRCd to accept connections")
        services = subprocess.Popen(
            [
                "atheme-services",
                "-n",
                "-c",
                str(self.folder / "atheme.conf"),
                "-D",
                str(self.folder),
                "-l",
                str(log),
                "-p",
                str(self.folder / "atheme.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
            preexec_fn=_no_core_dumps,
        )
        self._procs.append(services)
        self._wait(
            lambda: log.exists() and log.read_text().count("finished synching") > seen,
            "Atheme to link",
        )

    def _accepts(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
        ):
            return True
        return False

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if any(p.poll() is not None for p in self._procs):
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"timed out waiting for {what} (logs in {self.folder})")

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs = []

    def restart(self) -> None:
        self.stop()
        self.start()


class Person:
    """One human on the network, over a raw socket: enough to register, identify and talk."""

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.lines: list[str] = []
        self._new = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, port: int, nick: str, *, caps: str = "", realname: str | None = None
    ) -> Person:
        person = cls(nick)
        person._reader, person._writer = await asyncio.open_connection("127.0.0.1", port)
        person._writer.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        person._task = asyncio.create_task(person._read())
        if caps:
            await person.send(f"CAP REQ :{caps}")
        await person.send(f"NICK {nick}")
        await person.send(f"USER {nick} 0 * :{realname or nick}")
        if caps:
            await person.send("CAP END")
        await person.wait_for(lambda line: " 001 " in line, within=15)
        return person

    async def _read(self) -> None:
        assert self._reader is not None
        while line := await self._reader.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text.startswith("PING"):
                await self.send("PONG" + text[4:])
            self.lines.append(text)
            self._new.set()

    async def send(self, line: str) -> None:
        assert self._writer is not None
        self._writer.write(line.encode() + b"\r\n")
        await self._writer.drain()

    async def say(self, channel: str, text: str) -> None:
        await self.send(f"PRIVMSG {channel} :{text}")

    async def wait_for(
        self, match: Callable[[str], bool], within: float = 10, since: int = 0
    ) -> str:
        deadline = asyncio.get_running_loop().time() + within
        seen = since
        while True:
            for line in self.lines[seen:]:
                if match(line):
                    return line
            seen = len(self.lines)
            self._new.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(
                    f"{self.nick} never saw the expected line; last: {self.lines[-5:]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)

    def said_by(self, nick: str, target: str, since: int = 0) -> list[str]:
        """Texts of PRIVMSGs from ``nick`` to ``target`` seen so far."""
        prefix = f":{nick}!"
        found = []
        for line in self.lines[since:]:
            if line.startswith("@"):  # message tags (account-tag) first
                line = line.split(" ", 1)[1]
            if line.startswith(prefix) and f" PRIVMSG {target} :" in line:
                found.append(line.split(f" PRIVMSG {target} :", 1)[1])
        return found

    async def register(self, password: str) -> None:
        """Register this nick with NickServ (which also logs in)."""
        mark = len(self.lines)
        await self.send(f"PRIVMSG NickServ :REGISTER {password} {self.nick}@example.org")
        await self.wait_for(
            lambda line: "NickServ" in line and "registered" in line.lower(), 15, since=mark
        )

    async def identify(self, password: str) -> None:
        mark = len(self.lines)
        await self.send(f"PRIVMSG NickServ :IDENTIFY {password}")
        await self.wait_for(lambda line: " 900 " in line, within=15, since=mark)

    async def add_certificate(self, fingerprint: str) -> None:
        """Let this (identified) account log in with a client certificate (SASL EXTERNAL)."""
        mark = len(self.lines)
        await self.send(f"PRIVMSG NickServ :CERT ADD {fingerprint}")
        await self.wait_for(
            lambda line: "NickServ" in line and fingerprint in line, within=15, since=mark
        )

    async def quit(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self.send("QUIT :bye")
                self._writer.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
