"""Computed dashboard blocks cached per scope and rollup version.

A block (the overview's tiles, breakdowns and series; a ranking) is computed from the
rollups, so it is kept in the cache under the rollup version token
(:class:`RollupVersion`, renewed by every recount) and the settings that change its
numbers, for at most ``INSIGHTS_DASHBOARD_CACHE_SECONDS`` (60 by default). Before the
first recount there is no token and nothing is cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max

from .dashboard_scope import Scope
from .models import RollupVersion

DEFAULT_SECONDS = 60


def rollup_version() -> str | None:
    return RollupVersion.objects.filter(pk=1).values_list("token", flat=True).first()


def scope_key(scope: Scope) -> tuple:
    return (
        scope.start.isoformat(),
        scope.end.isoformat(),
        scope.product.pk if scope.product else None,
        scope.channel,
        scope.segment.pk if scope.segment else None,
        scope.customer_kind,
        scope.theme.pk if scope.theme else None,
        scope.interval,
    )


def labels_stamp() -> tuple:
    """Changes when a segment or product is added, renamed, discarded or removed."""
    from customization.models import Segment
    from feedback.models import Product

    segments = Segment.objects.aggregate(n=Count("id"), changed=Max("updated_at"))
    products = Product.objects.aggregate(n=Count("id"), last=Max("id"))
    return (segments["n"], str(segments["changed"]), products["n"], products["last"])


def cached(name: str, parts: tuple | Callable[[], tuple], compute: Callable[[], object]):
    """``compute()``, or its value cached under ``name``, ``parts`` (a tuple, or a
    function giving it, called only when caching) and the rollup version; computed every
    time when the rollups have no version yet."""
    seconds = getattr(settings, "INSIGHTS_DASHBOARD_CACHE_SECONDS", DEFAULT_SECONDS)
    version = rollup_version() if seconds else None
    if version is None:
        return compute()
    if callable(parts):
        parts = parts()
    raw = repr(
        (
            name,
            version,
            parts,
            settings.INSIGHTS_MIN_GROUP_SIZE,
            settings.INSIGHTS_SIGNIFICANCE_ALPHA,
        )
    )
    key = "insights:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value
