"""Named actors and service probes shared by every app's tests."""

import os
import socket
import time
from urllib.parse import urlparse

import pytest
from django.conf import settings

from feedback.tests.factories import UserFactory


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 0.5):
            return True
    except OSError:
        return False


def require_service(name: str, ok: bool) -> None:
    """Skip when a real service is missing on a bare machine; fail in CI."""
    if ok:
        return
    if settings.FOCUSLOOP_REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (FOCUSLOOP_REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{name} not reachable")


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    require_service("Redis", _reachable(url, 6379))
    return url


@pytest.fixture
def postgres_required():
    require_service("PostgreSQL", settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Tests that need the after-commit wake-up turn it back on explicitly.
    settings.ANALYSIS_TRIGGER_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The test client and live server speak plain http and serve static files unhashed.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def staff_member(db):
    return UserFactory(username="sam_staff", role="staff")


@pytest.fixture
def manager(db):
    return UserFactory(username="maria_manager", role="manager")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada_admin", role="admin", is_staff=True)


@pytest.fixture
def outsider(db):
    """Signed in, but holds no role."""
    return UserFactory(username="oscar_outsider")


def wait_until(predicate, timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass (for real workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def celery_worker(redis_url, settings):
    """A real Celery worker, in a thread, consuming the configured Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    require_service("Redis broker (REDIS_URL)", settings.CELERY_BROKER_URL.startswith("redis://"))
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        shutdown_timeout=20,
        queues=settings.FOCUSLOOP_QUEUES,
    ) as worker:
        yield worker
