"""Fixtures of the integration tests: the web site ones are shared with tests/web."""

from tests.web.site import http, site_bot  # noqa: F401
