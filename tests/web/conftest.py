"""The web tests' fixtures (in site.py, shared with the browser tests)."""

from tests.web.site import http, site_bot  # noqa: F401
