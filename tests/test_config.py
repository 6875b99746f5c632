"""config.yaml: defaults, ${ENV} substitution, and errors that name the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbot.config import ConfigError, ConsoleNetwork, MemoryNetwork, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"


def problems(data: object, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env=env or {})
    return caught.value.problems


def test_the_example_config_runs_unedited_on_the_console_and_sqlite() -> None:
    config = load_config(EXAMPLE, env={})
    assert [type(n) for n in config.networks] == [ConsoleNetwork]
    assert config.database.url.startswith("sqlite+aiosqlite:///")
    assert config.plugins.enabled == ["core", "meetings"]


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    empty = tmp_path / "c.yaml"
    empty.write_text("")
    config = load_config(empty, env={})
    assert config.bot.prefix == "!" and isinstance(config.networks[0], ConsoleNetwork)


def test_environment_variables_fill_in_secrets() -> None:
    config = parse_config(
        {
            "database": {"url": "postgresql+asyncpg://bot:${DB_PW}@db/${DB_NAME:-opsbot}"},
            "networks": [{"type": "memory", "name": "m", "rooms": ["${ROOM}"]}],
        },
        env={"DB_PW": "s3cret", "ROOM": "#ops"},
    )
    assert config.database.url == "postgresql+asyncpg://bot:s3cret@db/opsbot"
    assert isinstance(config.networks[0], MemoryNetwork) and config.networks[0].rooms == ["#ops"]


def test_a_missing_environment_variable_names_its_key() -> None:
    assert problems(
        {
            "networks": [
                {
                    "type": "matrix",
                    "name": "mx",
                    "homeserver": "h",
                    "user_id": "@a:b",
                    "password": "${MX_PW}",
                }
            ]
        }
    ) == [("networks[0].password", "environment variable MX_PW is not set")]


def test_errors_name_the_key_path_and_reason() -> None:
    found = problems(
        {
            "bot": {"timezone": "Mars/Olympus", "admins": ["alice"]},
            "networks": [{"type": "irc", "name": "oftc", "host": "irc.oftc.net", "port": "many"}],
            "surprise": 1,
        }
    )
    assert ("bot.admins", "Value error, 'alice' is not network:account") in found
    assert ("bot.timezone", "Value error, unknown time zone 'Mars/Olympus'") in found
    assert (
        "networks[0].port",
        "Input should be a valid integer, unable to parse string as an integer",
    ) in found
    assert ("surprise", "Extra inputs are not permitted") in found


def test_network_rules() -> None:
    twice = [{"type": "memory", "name": "a"}, {"type": "memory", "name": "a"}]
    assert problems({"networks": twice}) == [
        ("networks", "Value error, two networks are named 'a'")
    ]
    [(path, reason)] = problems({"networks": [{"type": "telegraph", "name": "x"}]})
    assert path == "networks[0]" and "does not match any of the expected tags" in reason
    [(path, reason)] = problems(
        {"networks": [{"type": "matrix", "name": "mx", "homeserver": "h", "user_id": "@a:b"}]}
    )
    assert path == "networks[0]" and "password or an access_token" in reason


def test_matrix_rooms_of_every_room_version_and_aliases() -> None:
    rooms = [
        "!e8yRfVguNhiuD1nISuZFS5q8pPxnP_PnEJ6ouZEmeqs",  # version 12: no server part
        "!abcdefg:example.org",
        "#openstack-operators:example.org",
    ]
    net = {"type": "matrix", "name": "mx", "homeserver": "h", "user_id": "@a:b", "password": "p"}
    config = parse_config({"networks": [{**net, "rooms": rooms}]}, env={})
    assert config.networks[0].rooms == rooms  # type: ignore[union-attr]
    assert problems({"networks": [{**net, "rooms": ["ops", "#no-server", "! spaced"]}]}) == [
        (
            "networks[0].rooms",
            "Value error, 'ops', '#no-server', '! spaced': not a Matrix room ID (!id or "
            "!id:server) or alias (#name:server)",
        )
    ]


def test_file_level_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("bot:\n  nick: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML: line 3, column 1"):
        load_config(broken)
    with pytest.raises(ConfigError, match="cannot read the file: No such file or directory"):
        load_config(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(listing)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("bot: {nick: opsbot}\n# Café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.yaml: not UTF-8: byte 0xe9 at line 2, column 6"):
        load_config(latin)


def test_the_commented_irc_example_is_valid() -> None:
    import re

    import yaml

    text = EXAMPLE.read_text()
    block = re.search(r"  # - type: irc\n(.*?)  #\n", text, re.S)
    assert block is not None
    lines = [
        row.replace("  # ", "  ", 1)
        for row in block.group(0).splitlines()
        if row.startswith("  # ")
    ]
    data = yaml.safe_load("networks:\n" + "\n".join(lines))
    config = parse_config(data, env={"OPSBOT_IRC_PASSWORD": "x", "OPSBOT_NICKSERV_PASSWORD": "y"})
    [irc] = config.networks
    assert irc.type == "irc" and irc.name == "oftc" and irc.tls and irc.tls_verify


def _commented_block(start: str, end: str) -> str:
    """The commented example from the line ``start`` to the line before ``end``, uncommented."""
    text = EXAMPLE.read_text()
    begin = text.index(start)
    stop = text.index(end, begin + len(start)) if end else len(text)
    return "\n".join(
        row.replace("# ", "", 1).split("  # ")[0].rstrip()
        for row in text[begin:stop].splitlines()
        if row.lstrip().startswith("#")
    )


def test_the_commented_mail_and_webhooks_examples_are_valid() -> None:
    import yaml

    from opsbot_plugins.mail.plugin import MailConfig

    mail = yaml.safe_load(_commented_block("  # mail:", "\n# webhooks:"))["mail"]
    section = MailConfig.model_validate(mail)
    assert section.server_name() == "lists" and section.minutes == "attach"
    assert section.lists_for("ops_meetup_team").to == ["openstack-discuss@lists.openstack.org"]
    hooks = yaml.safe_load(_commented_block("# webhooks:", ""))
    secret = "s3cret-of-16-chars-or-more"
    config = parse_config(hooks, env={"OPSBOT_WEBHOOK_SECRET": secret})
    [hook] = config.webhooks
    assert hook.name == "ci" and hook.secret == secret and len(hook.events) == 5
    assert (Path(__file__).parents[1] / "opsbot" / "config.example.yaml").read_text() == (
        EXAMPLE.read_text()
    ), "opsbot init writes the same example"
