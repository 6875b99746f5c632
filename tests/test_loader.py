"""Plugin discovery through entry points and validation of each plugin's config section."""

from __future__ import annotations

import pytest

from opsbot.config import ConfigError, PluginsConfig
from opsbot.loader import available, build_configs, load_classes
from opsbot.plugin import Plugin, PluginConfig
from opsbot_plugins.core.plugin import Core


class Tuned(Plugin):
    """A plugin with settings."""

    class Config(PluginConfig):
        window_hours: int = 24
        label: str = "x"


def problems(config: PluginsConfig) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        build_configs(load_classes(config, {"tuned": Tuned}), config)
    return caught.value.problems


def test_bundled_plugins_are_entry_points() -> None:
    assert "core" in available()
    assert load_classes(PluginsConfig(enabled=["core"])) == {"core": Core}


def test_unknown_and_duplicate_plugins_name_their_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_classes(
            PluginsConfig.model_validate({"enabled": ["core", "kudoz", "core"], "kudoz": {}})
        )
    assert caught.value.problems == [
        (
            "plugins.enabled[1]",
            "no plugin named 'kudoz' (installed: core, etherpad, kudos, mail, meetings, records, schedule)",
        ),
        ("plugins.enabled[2]", "'core' is listed twice"),
        ("plugins.kudoz", "no plugin named 'kudoz' is installed"),
    ]


def test_sections_are_validated_with_paths() -> None:
    config = PluginsConfig.model_validate(
        {"enabled": ["tuned"], "tuned": {"window_hours": "a day", "colour": 1}}
    )
    assert problems(config) == [
        (
            "plugins.tuned.window_hours",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("plugins.tuned.colour", "Extra inputs are not permitted"),
    ]


def test_room_overrides_are_validated_at_start_up() -> None:
    config = PluginsConfig.model_validate(
        {
            "enabled": ["tuned"],
            "tuned": {"rooms": {"irc:#ops": {"window_hours": -1.5}, "nocolon": {}}},
        }
    )
    assert problems(config) == [
        (
            'plugins.tuned.rooms."irc:#ops".window_hours',
            "Input should be a valid integer, got a number with a fractional part",
        ),
        ("plugins.tuned.rooms.nocolon", "room keys are network:room"),
    ]


def test_valid_sections_build() -> None:
    config = PluginsConfig.model_validate(
        {"enabled": ["tuned"], "tuned": {"label": "y", "rooms": {"irc:#a": {"label": "z"}}}}
    )
    built = build_configs(load_classes(config, {"tuned": Tuned}), config)
    assert isinstance(built["tuned"], Tuned.Config) and built["tuned"].label == "y"
