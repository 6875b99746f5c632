"""Matrix user and event IDs: the localpart people see, the server part, and the event IDs seen
lately (to drop an event the homeserver sends twice)."""

from __future__ import annotations

from collections import deque


class RecentIds:
    """The last ``size`` event IDs seen, for dropping duplicates."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque(maxlen=size)
        self._set: set[str] = set()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._set

    def add(self, event_id: str) -> None:
        if event_id in self._set:
            return
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(event_id)
        self._set.add(event_id)

    def dump(self) -> list[str]:
        return list(self._order)


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def _server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""
