"""Request rates per API key, per signed-in person and per anonymous client IP."""

from __future__ import annotations

import logging
import os
import threading
import time

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from accounts.authentication import ApiKeyUser
from accounts.rate_limits import client_key, current_window
from accounts.rate_limits import count as _count

logger = logging.getLogger(__name__)


# A high rate (an API key's 60,000 a minute) is counted in leases: a process takes the
# next LEASE numbers of the window's counter at once and hands them to its requests, one
# round trip to the cache per lease instead of per request. Nothing is let through past
# the limit (every number is counted before it is used); numbers a process took but did
# not use refuse at most (processes - 1) x lease requests early, near the end of a busy
# window: 0.1 % of the rate per process. Rates under 2,000 a window are counted exactly.
LEASE_PER_RATE = 1000

_leases: dict[str, tuple[int, int, int]] = {}  # key -> (pid, next number, last number)
_leases_lock = threading.Lock()


def _number(key: str, ttl: int, limit: int) -> int:
    """This request's number in the window (the first request is 1)."""
    lease = limit // LEASE_PER_RATE
    if lease <= 1:
        return _count(key, ttl)
    pid = os.getpid()
    with _leases_lock:
        held = _leases.get(key)
        if held is not None and held[0] == pid and held[1] <= held[2]:
            _leases[key] = (pid, held[1] + 1, held[2])
            return held[1]
    last = _count(key, ttl, lease)
    with _leases_lock:
        if len(_leases) > 10_000:  # leases of windows gone by
            _leases.clear()
        _leases[key] = (pid, last - lease + 2, last)
    return last - lease + 1


class ClientRateThrottle(BaseThrottle):
    """One counter per client and time window: ``api_key`` for keys, ``api_user`` for
    sessions, ``api_anon`` per client IP, rates from ``DEFAULT_THROTTLE_RATES`` (read at
    each request). A refused request answers 429 with ``Retry-After`` (the end of the
    window) in the one error shape (code ``throttled``).

    A fixed-window counter: an atomic increment in the shared cache (Redis in production)
    per request, or per lease of numbers at high rates (``_number``), where DRF's own throttle reads and rewrites the list of every request
    time in the window, which costs more the higher the rate. A client may send up to
    twice the rate across a window boundary; that is the price of one round trip. When
    the cache is unreachable requests are let through (logged), like the form limits.
    """

    def allow_request(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiKeyUser):
            scope, ident = "api_key", f"key:{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            scope, ident = "api_user", f"user:{user.pk}"
        else:
            scope, ident = "api_anon", f"ip:{client_key(request)}"
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if rate is None:
            return True
        now = time.time()
        window = current_window(f"throttle:{scope}", ident, rate, now)
        try:
            count = _number(window.key, window.seconds + 1, window.limit)
        except Exception:  # noqa: BLE001 - the cache is down: fail open
            logger.warning("request rate not counted: cache unreachable", exc_info=True)
            return True
        self.retry_after = window.ends_at - now
        return count <= window.limit

    def wait(self) -> float:
        return self.retry_after
