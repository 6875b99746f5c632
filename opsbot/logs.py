"""How the bot's log lines look: each line written while an event is handled names that event's
network and room; as text (``... [oftc #openstack-operators] ...``) or, with ``log.format:
json``, one JSON object a line (python-json-logger) for a log collector."""

from __future__ import annotations

import logging
from typing import Literal

from .context import HANDLING
from .events import Event, RoomEvent

EVENTS = logging.getLogger("opsbot.events")

TEXT = "%(asctime)s %(levelname)s %(name)s%(where)s: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message", "network", "room")


class EventPlace(logging.Filter):
    """Adds ``network`` and ``room`` (None outside an event) and ``where`` (for the text form)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "network"):  # said by the caller (``extra=``)
            network, room = record.network, getattr(record, "room", None)
        else:
            found = HANDLING.get()
            event = found[0] if found is not None else None
            network = getattr(event, "network", None)
            room = event.room.id if isinstance(event, RoomEvent) else None
        record.network, record.room = network, room
        record.where = f" [{network} {room}]" if room else f" [{network}]" if network else ""
        return True


def heard(event: Event) -> Event:
    """An inbound step: one DEBUG line per event (its kind and who; never what was said)."""
    if EVENTS.isEnabledFor(logging.DEBUG):
        who = getattr(getattr(event, "sender", None), "nick", None)
        room = event.room.id if isinstance(event, RoomEvent) else None
        EVENTS.debug(
            "%s%s", type(event).__name__, f" from {who}" if who else "",
            extra={"network": event.network, "room": room},
        )  # fmt: skip
    return event


def formatter(style: Literal["text", "json"]) -> logging.Formatter:
    if style == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    return logging.Formatter(TEXT)


def handler_for(handler: logging.Handler, style: Literal["text", "json"]) -> logging.Handler:
    handler.addFilter(EventPlace())
    handler.setFormatter(formatter(style))
    return handler
