"""A real Etherpad for the tests: npm ``ep_etherpad-lite`` 1.8.14 on Node (installed under
.servers/etherpad by ``make servers``), dirty-file database, on a free loopback port."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .ircserver import free_port
from .processes import stop_process, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = ROOT / ".servers" / "etherpad"


class Etherpad:
    """One Etherpad; ``start``/``stop`` may be called again (its pads survive a restart)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        if not (INSTALLED / "src" / "node" / "server.js").exists():
            raise RuntimeError(f"Etherpad is missing under {INSTALLED}: run `make servers`")
        # Etherpad finds its root from where its code really is (the shared install); this
        # instance's settings, key and database are named by absolute paths.
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "var").mkdir(exist_ok=True)
        (folder / "APIKEY.txt").write_text(self.api_key)
        settings = {
            "ip": "127.0.0.1",
            "port": self.port,
            "dbType": "dirty",
            "dbSettings": {"filename": str(folder / "var" / "dirty.db")},
            "minify": False,
            "skinName": "colibris",
            "loglevel": "WARN",
        }
        (folder / "settings.json").write_text(json.dumps(settings))

    def start(self, timeout: float = 60) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        log = (self.folder / "etherpad.log").open("ab")
        env = {
            **os.environ,
            "NODE_ENV": "production",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        self.process = subprocess.Popen(
            [
                node,
                "src/node/server.js",
                "--settings",
                str(self.folder / "settings.json"),
                "--apikey",
                str(self.folder / "APIKEY.txt"),
            ],
            cwd=INSTALLED,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        wait_until_answering(
            self.process,
            f"{self.url}/api",
            lambda body: b"currentVersion" in body,
            what="Etherpad",
            log_tail=self.log_tail,
            timeout=timeout,
        )

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def log_tail(self) -> str:
        path = self.folder / "etherpad.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def api(self, function: str, **params: str) -> Any:
        """Call the API the plain way (the tests' view of the pad)."""
        form = urllib.parse.urlencode({"apikey": self.api_key, **params}).encode()
        request = urllib.request.Request(f"{self.url}/api/1.2.15/{function}", form)
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = json.load(answer)
        if body.get("code") != 0:
            raise RuntimeError(f"{function}: {body}")
        return body.get("data")

    def text(self, pad: str) -> str:
        return str(self.api("getText", padID=pad)["text"])
