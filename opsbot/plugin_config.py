"""The base of every plugin's config section, and a section with one room's overrides applied."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


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
