"""opsbot as an operator installs it: a wheel built from the tree (not an editable install), in a
fresh venv of its own, carries every module, template, migration and static file: `opsbot init`
writes a config, and a console meeting from it writes its minutes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from .ircserver import free_port

ROOT = Path(__file__).resolve().parents[2]
LEFT_BEHIND = (
    ".git", ".venv", ".servers", "build", "dist", "*.egg-info", "__pycache__", "var",
    "test-artifacts", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
)  # fmt: skip


def run(*args: str | Path, cwd: Path, timeout: float = 600, **options: object) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        **options,  # type: ignore[call-overload]
    )  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return str(done.stdout)


def test_the_built_wheel_installs_and_runs_a_console_meeting(tmp_path: Path) -> None:
    # From a copy of the tree without what earlier builds or runs left (setuptools would take
    # a stale build/ for the package).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_BEHIND))
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
        "-w", dist, source, cwd=tmp_path)  # fmt: skip
    [wheel] = dist.glob("opsbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for packaged in (
        "opsbot/bridge/__init__.py", "opsbot/transports/irc/__init__.py",
        "opsbot/transports/matrix/__init__.py", "opsbot/static/site.css",
        "opsbot/config.example.yaml", "opsbot_plugins/meetings/templates/web/index.html",
        "opsbot_plugins/mail/templates/minutes.txt", "opsbot_plugins/mail/templates/minutes.html",
        "opsbot_plugins/mail/migrations/versions/0001_mail.py",
    ):  # fmt: skip
        assert packaged in names, f"{packaged} is not in the wheel"

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", wheel,
        cwd=tmp_path)  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    opsbot = venv / "bin" / "opsbot"
    assert "Wrote config.yaml" in run(opsbot, "init", ".", cwd=home)
    port = free_port()
    env = {**os.environ, "OPSBOT_WEB_LISTEN": f"127.0.0.1:{port}", "PYTHONPATH": ""}
    script = "#startmeeting wheel check\n#action you to ship it\n#endmeeting\n"
    said = run(opsbot, "run", "-c", "config.yaml", cwd=home, input=script, env=env, timeout=120)
    assert "Meeting ended" in said and "Traceback" not in said
    found = (home / "var" / "meetings").rglob("wheel_check.*.html")
    [minutes] = [path for path in found if not path.name.endswith(".log.html")]
    assert "you to ship it" in minutes.read_text()
    assert (home / "var" / "opsbot.db").exists()
    # the installed package, not the tree: its files are in the venv
    where = run(venv / "bin" / "python", "-c", "import opsbot_plugins; print(opsbot_plugins.__file__)",
                cwd=home, env=env)  # fmt: skip
    assert where.startswith(str(venv))
