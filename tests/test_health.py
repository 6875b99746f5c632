"""The database's health: unreachable errors found through SQLAlchemy's wrapping, and one log
line per outage."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from opsbot.health import DatabaseHealth, is_unreachable


class ConnectionDoesNotExistError(Exception):
    """Named as asyncpg names it."""


def wrapped(orig: BaseException) -> DBAPIError:
    error = DBAPIError("INSERT ...", {}, orig)
    error.__cause__ = orig
    return error


def test_unreachable_errors_through_their_wrapping() -> None:
    assert is_unreachable(ConnectionRefusedError(111, "refused"))
    assert is_unreachable(wrapped(ConnectionDoesNotExistError("closed mid-operation")))
    inner = Exception("adapter")
    inner.__cause__ = OSError("reset")
    assert is_unreachable(wrapped(inner))
    assert not is_unreachable(IntegrityError("INSERT ...", {}, Exception("duplicate key")))
    assert not is_unreachable(ValueError("a bug"))


def test_one_line_when_it_goes_and_one_when_it_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = DatabaseHealth()
    heard: list[bool] = []
    health.listener = heard.append
    with caplog.at_level(logging.INFO, logger="opsbot.storage"):
        for _ in range(50):
            health.failed(ConnectionRefusedError(111, "refused"), "meeting log writer")
        health.succeeded()
        health.succeeded()
    assert heard == [False, True]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("the database is unreachable (ConnectionRefusedError")
    assert messages[1].startswith("the database is back after")
