"""Plugin discovery through the ``opsbot.plugins`` entry-point group, and their config sections.

A plugin's entry-point name is its one name: config key, table prefix, job prefix and logger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points

from pydantic import ValidationError

from .config import ConfigError, NetworkBase, PluginsConfig, room_problem, validation_problems
from .plugin import Plugin, PluginConfig, room_config

ENTRY_POINT_GROUP = "opsbot.plugins"


def available() -> dict[str, EntryPoint]:
    """Installed plugins by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(entry: EntryPoint) -> type[Plugin]:
    try:
        cls = entry.load()
    except Exception as error:
        raise ConfigError([(f"plugins.{entry.name}", f"cannot be loaded: {error!r}")]) from error
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise ConfigError([(f"plugins.{entry.name}", f"{entry.value} is not a Plugin class")])
    return cls


def load_classes(
    config: PluginsConfig, extra: Mapping[str, type[Plugin]] | None = None
) -> dict[str, type[Plugin]]:
    """The enabled plugins' classes, in the order enabled; raises ConfigError naming the key.
    ``extra`` supplies classes that are not installed (tests, embedding) by name."""
    installed: dict[str, EntryPoint | type[Plugin]] = {**available(), **(extra or {})}
    problems: list[tuple[str, str]] = []
    classes: dict[str, type[Plugin]] = {}
    for i, name in enumerate(config.enabled):
        if name in classes:
            problems.append((f"plugins.enabled[{i}]", f"{name!r} is listed twice"))
        elif name not in installed:
            known = ", ".join(sorted(installed)) or "none"
            problems.append(
                (f"plugins.enabled[{i}]", f"no plugin named {name!r} (installed: {known})")
            )
        else:
            found = installed[name]
            classes[name] = found if isinstance(found, type) else _load(found)
    for name in config.sections():
        if name not in installed:
            problems.append((f"plugins.{name}", f"no plugin named {name!r} is installed"))
    if problems:
        raise ConfigError(problems)
    return classes


def build_configs(
    classes: dict[str, type[Plugin]],
    config: PluginsConfig,
    networks: Sequence[NetworkBase] | None = None,
) -> dict[str, PluginConfig]:
    """Each plugin's validated section, its per-room overrides checked too; raises ConfigError
    listing every problem at once. With ``networks`` (the bot and check-config), every room
    a plugin names must be one the bot could deliver to."""
    problems: list[tuple[str, str]] = []
    built: dict[str, PluginConfig] = {}
    for name, cls in classes.items():
        prefix = f"plugins.{name}"
        try:
            built[name] = cls.Config.model_validate(config.section(name))
        except ValidationError as error:
            problems.extend(validation_problems(error, prefix))
            continue
        for room_key in built[name].rooms:
            if ":" not in room_key:
                problems.append((f"{prefix}.rooms.{room_key}", "room keys are network:room"))
                continue
            wrong = room_problem(networks, room_key) if networks is not None else None
            if wrong is not None:
                problems.append((f'{prefix}.rooms."{room_key}"', wrong))
                continue
            try:
                room_config(built[name], room_key)
            except ValidationError as error:
                problems.extend(validation_problems(error, f'{prefix}.rooms."{room_key}"'))
        if networks is not None:
            problems.extend(
                (f"{prefix}.{path}", why)
                for path, why in cls.config_problems(built[name], networks)
            )
    if problems:
        raise ConfigError(problems)
    return built
