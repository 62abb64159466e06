"""Requests counted per client in fixed windows: the public forms' per-IP limits and the
API's rates (``api.throttling``) share these counters.

One counter per client, rule and window in the default cache (Redis in production): a
plain ``INCR``, and an ``EXPIRE`` only when it created the counter. django-ratelimit, used
for the forms before, made two round trips a request (an add, then django-redis's
``incr``, a Lua script keeping the TTL): a quarter of the public feedback form's CPU. A
client may send up to twice the rate across a window boundary, as with any fixed window.
When the cache is unreachable requests are let through (logged): a customer is never
refused because Redis is down.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from .client_ip import client_ip

logger = logging.getLogger(__name__)


def count(key: str, ttl: int, amount: int = 1) -> int:
    """Add ``amount`` to the window's counter and return it. On Redis: a plain INCRBY,
    and an EXPIRE only when it created the counter (django-redis's ``incr`` runs a Lua
    script to keep the TTL, and a pipeline costs as much in the client). A counter whose
    EXPIRE was lost (the process died between the two) only lingers: the next window has
    a key of its own. Elsewhere the cache's own increment."""
    if "django_redis" in settings.CACHES["default"]["BACKEND"]:
        from django_redis import get_redis_connection

        client = get_redis_connection("default")
        value = int(client.incrby(key, amount))
        if value == amount:
            client.expire(key, ttl)
        return value
    try:
        return cache.incr(key, amount)
    except ValueError:  # first request of the window
        return amount if cache.add(key, amount, timeout=ttl) else cache.incr(key, amount)


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/m"`` → (10, 60); also ``"5/h"``, ``"100/d"``, ``"3/10s"``, ``"20/min"``."""
    match = _RATE.match(rate or "")
    if not match:
        raise ImproperlyConfigured(f"A rate is <n>/<s|m|h|d>, e.g. 10/m, not {rate!r}.")
    limit, multiplier, unit = match.groups()
    return int(limit), int(multiplier or 1) * _SECONDS[unit]


@dataclass(frozen=True)
class Window:
    """The fixed window a request falls in: its counter's key, the rule's limit, the
    window's length and when it ends (epoch seconds)."""

    key: str
    limit: int
    seconds: int
    ends_at: float


def current_window(prefix: str, ident: str, rate: str, now: float | None = None) -> Window:
    """The window of ``rate`` (e.g. ``"10/m"``) at ``now`` for the client ``ident``; its
    counter is ``<prefix>:<ident>:<window number>``."""
    limit, seconds = parse_rate(rate)
    number = int((time.time() if now is None else now) // seconds)
    return Window(
        key=f"{prefix}:{ident}:{number}",
        limit=limit,
        seconds=seconds,
        ends_at=(number + 1) * seconds,
    )


def client_key(request) -> str:
    """The client address a limit counts (the forms' and the API's): an IPv6 client by its
    /64 network (one subscriber's addresses), an IPv4 one by its address, also when a
    dual-stack proxy hands it over IPv4-mapped (``::ffff:1.2.3.4``)."""
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def limit_posts_per_ip(rate_setting: str) -> Callable:
    """Count every POST to the view per client address, at the rate the setting
    ``rate_setting`` names (read at each request), and set ``request.limited`` when this
    one is over it; the view answers (a 429 page with its form), nothing is refused here.
    A 429 it answers gets ``Retry-After``: the seconds until this window ends. Each view
    has counters of its own."""

    def decorator(view):
        group = f"{view.__module__}.{view.__qualname__}"

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            limited = getattr(request, "limited", False)
            window = None
            if request.method == "POST":
                window = current_window(
                    f"ratelimit:{group}", client_key(request), getattr(settings, rate_setting)
                )
                try:
                    limited = count(window.key, window.seconds + 1) > window.limit or limited
                except Exception:  # noqa: BLE001 - the cache is down: fail open
                    logger.warning("form submission not counted: cache unreachable", exc_info=True)
            request.limited = limited
            response = view(request, *args, **kwargs)
            if limited and window is not None and response.status_code == 429:
                wait = math.ceil(window.ends_at - time.time())
                response.headers.setdefault("Retry-After", str(max(1, wait)))
            return response

        return wrapped

    return decorator
