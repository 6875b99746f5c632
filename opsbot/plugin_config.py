"""The base of every plugin's config section, and a section with one room's overrides applied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .events import Room


class PluginConfig(BaseModel):
    """Base of every plugin's Config; unknown keys are errors, so typos are caught at start-up.

    ``rooms`` maps ``network:room`` to overrides of any other key for that room.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rooms: dict[str, dict[str, Any]] = {}


def room_config(base: PluginConfig, room_key: str) -> PluginConfig:
    """Validate ``base`` with the overrides configured for ``room_key``."""
    merged = base.model_dump(exclude={"rooms"}, exclude_unset=True)
    merged.update(base.rooms[room_key])
    return type(base).model_validate(merged)


C = TypeVar("C", bound=PluginConfig)


class RoomConfigs(Generic[C]):
    """A plugin's config for each room: the section with that room's overrides applied (built
    once per room). What the plugin and its command-line tools both read."""

    def __init__(self, base: C) -> None:
        self.base = base
        self._built: dict[str, C] = {}

    def for_room(self, room: Room | None) -> C:
        if room is None or not self.base.rooms:
            return self.base
        # A room is configured by its ID, or on Matrix by its alias (its name here).
        keys = (room.key, f"{room.network}:{room.name}") if room.name else (room.key,)
        key = next((k for k in keys if k in self.base.rooms), None)
        if key is None:
            return self.base
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = cast(C, room_config(self.base, key))
        return built
