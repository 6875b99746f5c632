"""The opsbot command, run as a real process: the console room, signals, exit statuses."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from opsbot.testing import run_opsbot

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
CHANGELOG = EXAMPLE.with_name("CHANGELOG.md")
RELEASED = re.search(r"^## (\d+\.\d+\.\d+)", CHANGELOG.read_text(), re.M).group(1)  # type: ignore[union-attr]


def opsbot(
    *args: str, cwd: Path, stdin: str = "", timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return run_opsbot(*args, cwd=cwd, stdin=stdin, timeout=timeout)


def test_run_on_the_example_config_answers_ping_and_exits_at_end_of_input(tmp_path: Path) -> None:
    done = opsbot("run", "-c", str(EXAMPLE), cwd=tmp_path, stdin="!ping\n/nick bob\n!pnig\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "<opsbot> pong",
        "* You are now bob",
        "<opsbot> Unknown command !pnig. Did you mean !ping? Try !help for the list.",
    ]
    assert (tmp_path / "var/opsbot.db").exists()
    log = (tmp_path / "var/opsbot.log").read_text()
    assert "opsbot ready" in log and "opsbot stopped" in log


def test_run_without_a_config_uses_the_built_in_default(tmp_path: Path) -> None:
    done = opsbot("run", cwd=tmp_path, stdin="!ping\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "<opsbot> pong\n"
    assert "built-in defaults" in done.stderr


def test_end_of_input_finishes_every_line_first(tmp_path: Path) -> None:
    lines = "".join(f"chatter {i}\n" for i in range(300)) + "!version\n"
    done = opsbot("run", cwd=tmp_path, stdin=lines)
    assert done.returncode == 0 and done.stdout.startswith(f"<opsbot> opsbot {RELEASED} "), (
        done.stderr
    )


def test_the_version_is_the_changelogs_newest(tmp_path: Path) -> None:
    done = opsbot("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.split()[-1] == RELEASED


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_bot_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("log: {level: INFO}\nweb: {listen: '127.0.0.1:0'}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbot", "run", "-c", str(config)],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write("!ping\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "<opsbot> pong\n"
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 0
    err = proc.stderr.read()
    assert "stopping (signal)" in err and "opsbot stopped" in err and "Traceback" not in err
    proc.stdin.close()


def test_invalid_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "bot: {prefix: ''}\nnetworks:\n  - {type: memory, name: m, rooms: 5}\nplugins: {enabled: [core, nope]}\n"
    )
    done = opsbot("run", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "bot.prefix: String should have at least 1 character" in done.stderr
    assert "networks[0].rooms: Input should be a valid list" in done.stderr
    assert "Traceback" not in done.stderr
    plugin = tmp_path / "plugin.yaml"
    plugin.write_text("plugins: {enabled: [core, nope]}\n")
    done = opsbot("run", "-c", str(plugin), cwd=tmp_path)
    assert done.returncode == 2 and "plugins.enabled[1]: no plugin named 'nope'" in done.stderr


def test_unreachable_database_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "pg.yaml"
    config.write_text(
        f"database: {{url: 'postgresql+asyncpg://bot:pw@127.0.0.1:{port}/bot', connect_timeout: 5}}\n"
    )
    done = opsbot("run", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith(
        "Database unavailable: cannot reach the database at postgresql+asyncpg://bot:***@"
    )
    assert "Traceback" not in done.stderr and "pw@" not in done.stderr


def test_init_writes_a_valid_starter_config_and_never_overwrites(tmp_path: Path) -> None:
    done = opsbot("init", "site", cwd=tmp_path)
    assert done.returncode == 0 and "Wrote site/config.yaml" in done.stdout
    written = (tmp_path / "site/config.yaml").read_text()
    assert written == EXAMPLE.read_text()
    again = opsbot("init", "site", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    checked = opsbot("check-config", "-c", "site/config.yaml", cwd=tmp_path)
    assert checked.returncode == 0
    assert (
        checked.stdout
        == "site/config.yaml: valid. Networks: console (console). Plugins: core, meetings.\n"
    )


def test_check_config_reports_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "networks: [{type: irc, name: oftc, host: h}]\nplugins: {core: {colour: red}}\n"
    )
    done = opsbot("check-config", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "plugins.core.colour: Extra inputs are not permitted" in done.stderr


def test_db_upgrade_and_plugins(tmp_path: Path) -> None:
    done = opsbot("db", "upgrade", "-c", str(EXAMPLE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "opsbot: at opsbot_0005\ncore: at core_0001\nmeetings: at meetings_0004\n"
    listed = opsbot("plugins", "-c", str(EXAMPLE), cwd=tmp_path)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].startswith("core         enabled   Help, ping, version")
    assert listed.stdout.splitlines()[1].startswith("etherpad     disabled  Log a meeting's")
    assert listed.stdout.splitlines()[2].startswith("kudos        disabled  Kudos for operators")
    assert listed.stdout.splitlines()[3].startswith("mail         disabled  Mail the minutes")
    assert listed.stdout.splitlines()[4].startswith("meetings     enabled   MeetBot-compatible")


@pytest.mark.parametrize(
    "command", [[], ["run"], ["init"], ["check-config"], ["db"], ["db", "upgrade"], ["plugins"]]
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    done = opsbot(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("Usage: ")


def test_tools_that_read_the_database_need_no_secrets(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path}/bot.db'}}\n"
        "networks:\n"
        "  - {type: irc, name: oftc, host: irc.oftc.net, nick: opsbot,\n"
        "     sasl: {account: opsbot, password: '${OPSBOT_IRC_PASSWORD}'}}\n"
        "  - {type: matrix, name: matrix, homeserver: 'https://m.example', user_id: '@o:m.example',\n"
        "     password: '${OPSBOT_MATRIX_PASSWORD}'}\n"
        "plugins:\n"
        "  enabled: [core, meetings, kudos, records, etherpad]\n"
        "  etherpad: {servers: {main: {url: 'https://pad.example', api_key: '${OPSBOT_PAD_KEY}'}}}\n"
        "webhooks:\n"
        "  - {name: ci, url: 'https://hooks.example', secret: '${HOOK}', events: [KudosGiven]}\n"
    )
    for tool in (
        ("status",),
        ("minutes", "list"),
        ("kudos", "top"),
        ("kudos", "export", "--format", "csv"),
        ("records", "export", "--format", "json"),
    ):
        done = opsbot(*tool, "-c", str(config), cwd=tmp_path)
        assert done.returncode == 0, (tool, done.stderr)
    checked = opsbot("check-config", "-c", str(config), cwd=tmp_path)
    assert checked.returncode == 2
    for name in ("OPSBOT_IRC_PASSWORD", "OPSBOT_MATRIX_PASSWORD", "OPSBOT_PAD_KEY", "HOOK"):
        assert f"environment variable {name} is not set" in checked.stderr


def test_the_info_log_shows_the_bots_own_lines_not_the_libraries(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("log: {level: INFO}\nweb: {listen: '127.0.0.1:0'}\n")
    done = opsbot("run", "-c", str(config), cwd=tmp_path, stdin="!ping\n")
    assert done.returncode == 0, done.stderr
    assert "INFO opsbot: configuration from" in done.stderr
    assert "database" in done.stderr
    for library in ("alembic", "apscheduler", "nio."):
        assert f" {library}" not in done.stderr, done.stderr


def test_check_config_refuses_rooms_the_bot_could_not_deliver_to(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "networks:\n"
        "  - {type: irc, name: oftc, host: irc.oftc.net, nick: opsbot}\n"
        "  - {type: matrix, name: matrix, homeserver: 'https://m.example', user_id: '@o:m.example',\n"
        "     password: pw, rooms: ['#ops:m.example']}\n"
        "plugins:\n"
        "  enabled: [core, meetings, schedule]\n"
        "  meetings: {rooms: {'oftc:ops': {set_topic: true}, 'matrix:#ops:m.example': {}}}\n"
        "  schedule:\n"
        "    also_in: {'#ops': ['matrix:#ops:m.example', 'matrix:#ops', 'slack:#ops']}\n"
        "    digest: {rooms: ['oftc:#ops', 'matrix:!e8yRfVguNhiuD1nISuZFS5q8pPxnP_PnEJ6ouZEmeqs']}\n"
    )
    done = opsbot("check-config", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    problems = done.stderr.splitlines()[1:]
    assert problems == [
        "  plugins.meetings.rooms.\"oftc:ops\": 'oftc:ops': 'ops' is not an IRC channel",
        "  plugins.schedule.also_in.\"#ops\"[1]: 'matrix:#ops': '#ops' is not a Matrix room ID "
        "(!id or !id:server) or alias (#name:server)",
        "  plugins.schedule.also_in.\"#ops\"[2]: 'slack:#ops': no network named 'slack' "
        "(networks: oftc, matrix)",
    ], done.stderr


def test_check_config_refuses_a_typo_in_any_plugin_section_with_its_path(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "plugins:\n"
        "  enabled: [core, meetings, schedule, kudos, etherpad]\n"
        "  schedule: {digest: {dayy: mon}}\n"
        "  kudos: {rooms: {'console:#console': {windoww: 1}}}\n"
        "  etherpad: {servers: {main: {url: 'http://x', api_key: k, apikey: k}}}\n"
    )
    done = opsbot("check-config", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[1:] == [
        "  plugins.schedule.digest.dayy: Extra inputs are not permitted",
        '  plugins.kudos.rooms."console:#console".windoww: Extra inputs are not permitted',
        "  plugins.etherpad.servers.main.apikey: Extra inputs are not permitted",
    ]


def test_check_config_names_the_bridges_and_a_side_the_bot_would_not_join(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "networks:\n"
        "  - {type: irc, name: oftc, host: irc.example.org, channels: ['#other']}\n"
        "bridges:\n"
        "  - name: oftc\n"
        "    irc_network: oftc\n"
        "    matrix_network: matrix\n"
        "    rooms: [{irc: '#ops', matrix: '#ops:example.org'}]\n"
        "    irc_puppets: {nick_suffix: '[m]'}\n"
        "    matrix_puppets: {user: '@_oftc_{nick}:example.org'}\n"
    )
    done = opsbot("check-config", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Bridge oftc: #ops = #ops:example.org." in done.stdout
    assert "#ops is not in oftc's channels" in done.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text().replace("matrix_network: matrix", "matrix_network: oftc"))
    refused = opsbot("check-config", "-c", str(bad), cwd=tmp_path)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr + refused.stdout
    assert "irc_network and matrix_network are both 'oftc'" in refused.stderr + refused.stdout


def test_status_of_a_single_sqlite_process(tmp_path: Path) -> None:
    done = opsbot("status", "-c", str(EXAMPLE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "SQLite: one process, no group (a group needs PostgreSQL).\nOutbox: nothing waits.\n"
    )
