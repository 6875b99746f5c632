"""A real PostgreSQL for the tests, started once per session on 127.0.0.1 (RECIPES.md); a
server that cannot start fails the tests that need it, loudly. The ``postgres`` fixture is
registered for the whole suite by tests/conftest.py."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .ircserver import free_port


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test`, which installs it")
    return found[-1].parent


class PostgresServer:
    def __init__(self, host: str, port: int, data: Path | None = None, start: Any = None) -> None:
        self.host = host
        self.port = port
        self._data = data
        self._start = start

    def stop(self) -> None:
        """Stop the server as an operator would (fast shutdown: connections cut)."""
        assert self._data is not None
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(_postgres_bin() / "pg_ctl"), "-D",
             str(self._data), "-m", "fast", "-w", "stop"],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        assert self._start is not None
        self._start()

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"opsbot_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [
                str(_postgres_bin() / "createdb"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own for the test session."""
    with running_postgres() as server:
        yield server


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own, run as the postgres user (initdb refuses root)."""
    bin_dir = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="opsbot-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off"

    def start() -> None:
        started = subprocess.run(
            [
                *as_postgres,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            ],
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")

    start()
    try:
        yield PostgresServer("127.0.0.1", port, data, start)
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
