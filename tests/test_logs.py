"""The bot's log as an operator reads it: with `log.format: json` one JSON object a line, each
line written while an event is handled naming its network and room, and at DEBUG one line per
event (its kind and sender, never its text); the text form says the same in brackets."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from opsbot.testing import run_opsbot

SCRIPT = (
    "!nosuchcommand\n#startmeeting log check\n#info the secret word is swordfish\n#endmeeting\n"
)


def config(tmp_path: Path, **log: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "bot": {"admins": ["console:you"]},
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/bot.db"},
                "web": {"enabled": False},
                "log": {"file": str(tmp_path / "opsbot.log"), **log},
                "networks": [{"type": "console", "name": "console", "speaker": "you"}],
                "plugins": {"enabled": ["core", "meetings"],
                            "meetings": {"output_dir": str(tmp_path / "meetings")}},
            }
        )
    )  # fmt: skip
    return path


def test_json_logs_name_the_network_and_room_of_each_event(tmp_path: Path) -> None:
    done = run_opsbot("run", "-c", str(config(tmp_path, format="json", level="DEBUG")),
                      cwd=tmp_path, stdin=SCRIPT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "opsbot.log").read_text().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    events = [line for line in lines if line["logger"] == "opsbot.events"]
    said = [e for e in events if e["message"] == "Message from you"]
    assert len(said) == 4, "one line per event"
    assert all((e["network"], e["room"]) == ("console", "#console") for e in said)
    in_meeting = [line for line in lines if "log_check" in line["message"]]
    assert in_meeting and all(line["network"] == "console" for line in in_meeting)
    assert all("swordfish" not in line["message"] for line in lines), "no text in the log"


def test_text_logs_say_the_place_in_brackets(tmp_path: Path) -> None:
    done = run_opsbot("run", "-c", str(config(tmp_path)), cwd=tmp_path, stdin=SCRIPT)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "opsbot.log").read_text()
    assert " INFO opsbot" in text
    assert any("[console #console]" in line and "log_check" in line for line in text.splitlines())
