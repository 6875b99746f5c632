"""A sink that records what a transport publishes, in place of the bot's bus."""

from __future__ import annotations

import pytest

from opsbot.events import Event


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event, *, wait: bool = True) -> None:
        self.events.append(event)

    async def drain(self) -> None:
        return None

    async def durable(self) -> None:
        return None


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
