"""contrib/opsbot.service as systemd itself reads it (`systemd-analyze verify`: no unknown key, no
bad value), with the hardening the README promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "opsbot.service"


def test_the_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: `make servers` installs Debian's systemd")
    text = UNIT.read_text()
    opsbot = Path(sys.executable).with_name("opsbot")  # verify wants ExecStart's file to exist
    unit = tmp_path / "opsbot.service"
    unit.write_text(text.replace("/opt/opsbot/bin/opsbot", str(opsbot)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    settings = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in text.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert settings["User"] == "opsbot" and settings["StateDirectory"] == "opsbot"
    assert settings["ProtectSystem"] == "strict" and settings["NoNewPrivileges"] == "yes"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["ExecStart"].endswith("opsbot run -c /etc/opsbot/config.yaml")
