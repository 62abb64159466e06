"""The survey pages in headless Chromium: the project's browser fixtures, reused."""

from tests.browser.conftest import (  # noqa: F401 - fixtures
    _plain_http_per_test,
    browser,
    live_server,
    page,
)
