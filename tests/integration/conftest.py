"""Fixtures of the integration tests: the web site ones are shared with tests/web; one Etherpad
for the session (the pad tests and the outage test), one Synapse."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.site import http, site_bot  # noqa: F401

from .etherpadserver import Etherpad
from .homeserver import Homeserver
from .processes import serving


@pytest.fixture(scope="session")
def etherpad() -> Iterator[Etherpad]:
    with serving(Etherpad(Path(tempfile.mkdtemp(prefix="opsbot-etherpad-")))) as server:
        yield server


@pytest.fixture(scope="session")
def homeserver() -> Iterator[Homeserver]:
    """One Synapse for the session (the Matrix, bridge and failover tests)."""
    with serving(Homeserver(Path(tempfile.mkdtemp(prefix="opsbot-synapse-")))) as server:
        yield server
