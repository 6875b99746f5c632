"""Shared test set-up: the opsbot pytest plugin (fixtures ``bot``, ``bot_factory``) is loaded
through its ``pytest11`` entry point.

The real PostgreSQL server fixture (``postgres``) is shared by every test that needs it.
"""

from tests.integration.postgresserver import postgres  # noqa: F401
