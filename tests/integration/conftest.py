"""Fixtures of the integration tests: the web site ones are shared with tests/web; one Etherpad
for the session (the pad tests and the outage test)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.site import http, site_bot  # noqa: F401

from .etherpadserver import Etherpad
from .processes import serving


@pytest.fixture(scope="session")
def etherpad() -> Iterator[Etherpad]:
    with serving(Etherpad(Path(tempfile.mkdtemp(prefix="opsbot-etherpad-")))) as server:
        yield server
