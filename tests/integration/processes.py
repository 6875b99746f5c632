"""Starting and stopping the real servers' processes the same way for every server."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    ready: Callable[[bytes], bool],
    *,
    what: str,
    log_tail: Callable[[], str],
    timeout: float,
) -> None:
    """Poll ``url`` until its body satisfies ``ready``; fail loudly, with the server's log, if
    the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log_tail()}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError, ValueError),
            urllib.request.urlopen(url, timeout=1) as answer,
        ):
            if ready(answer.read()):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {timeout} s: {log_tail()}")


def spawn_opsbot(home: Path, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    """``opsbot run`` as its own process with ``config`` written in ``home`` (its folder, where
    its standard error goes too)."""
    path = home / "config.yaml"
    path.write_text(json.dumps(config))
    return subprocess.Popen(
        [sys.executable, "-m", "opsbot", "run", "-c", str(path)],
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(home / "stderr.log").open("ab"),
    )


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate, and kill after 30 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


@contextlib.contextmanager
def serving(server: S) -> Iterator[S]:
    """A server started for the block and stopped after it, whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
