"""Headless Chromium (Playwright, sync API) against pytest-django's live server.

Only the tests in this folder use these fixtures. They need Debian's Chromium at
/usr/bin/chromium; without it they skip, unless FOCUSLOOP_REQUIRE_SERVICES is on (CI),
where they fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test.utils import override_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
DEFAULT_TIMEOUT_MS = 10_000


def require_service(name: str, ok: bool) -> None:
    """Same rule as the root conftest: skip on a bare machine, fail when CI requires it."""
    if ok:
        return
    if settings.FOCUSLOOP_REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (FOCUSLOOP_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{name} not available")


def _plain_http_settings() -> dict:
    """What an http:// live server without ``collectstatic`` needs.

    Outside the embedded mode (DATABASE_URL set, so DEBUG=0 when settings are imported)
    the project picks WhiteNoise's manifest storage, whose ``{% static %}`` raises
    "Missing staticfiles manifest entry" until ``collectstatic`` has run, and HTTPS-only
    redirects and cookies, which a plain-HTTP live server cannot satisfy. In the embedded
    mode these values are already the defaults, so this changes nothing there.
    """
    return {
        "STORAGES": {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
    }


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, with its handler built under plain-HTTP settings.

    SecurityMiddleware reads SECURE_SSL_REDIRECT once, when the server thread builds its
    WSGI handler (before the thread reports ready), so the override only has to hold while
    the server starts; per-request values are overridden per test below. Same address
    rule as pytest-django's own ``live_server``.
    """
    from pytest_django.live_server_helper import LiveServer

    addr = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    with override_settings(**_plain_http_settings()):
        server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _plain_http_per_test(settings):
    """Storage and cookie flags are read per request: override them for each browser test."""
    for name, value in _plain_http_settings().items():
        setattr(settings, name, value)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all tests of this folder, closed when the folder is done.

    Package scope rather than session scope: while Playwright's sync API is up it keeps an
    asyncio loop running in the main thread, and the ORM then refuses synchronous calls
    unless DJANGO_ALLOW_ASYNC_UNSAFE is set. Scoped to this folder, neither the running
    loop nor that variable reaches later tests (``manage.py check --deploy`` in a
    subprocess reports async.E001 when it inherits the variable).
    """
    require_service("Chromium (/usr/bin/chromium)", CHROMIUM.exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in requirements-dev
        require_service("Playwright for Python", False)
    # Without it the factories, the assertions and pytest-django's flush after each test
    # would raise SynchronousOnlyOperation. The ORM use here is plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class PageProblems:
    """What went wrong in the page while a test drove it."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def assert_none(self) -> None:
        assert self.dialogs == [], f"unexpected dialogs: {self.dialogs}"
        assert self.page_errors == [], f"uncaught page errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test, with problem collectors attached.

    Any dialog (alert/confirm/prompt) is recorded and dismissed so it cannot block the
    page; tests call ``page.problems.assert_none()`` to fail on dialogs, console errors
    and uncaught exceptions.
    """
    cache.clear()  # the public form's per-IP rate limit lives in the local-memory cache
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        service_workers="block",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    problems = PageProblems()

    def on_dialog(dialog):
        problems.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        problems.console_errors.append(f"{message.text} ({url})")

    def on_response(response):
        if response.status >= 400:
            problems.failed_responses.append(f"{response.status} {response.url}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("response", on_response)
    page.problems = problems
    yield page
    context.close()
