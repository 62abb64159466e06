"""Dashboard reads: rollup sums for a scope, whole or grouped by one dimension.

Every number comes from a rollup (:func:`insights.selectors.rollup_rows`):
:class:`DailyFeedbackStat`, or :class:`DailySegmentStat` for a segment filter and the
segment ranking, and with a theme filter their theme variants, :class:`DailyThemeStat`
and :class:`DailyThemeSegmentStat` (survey scores there are those of the responses whose
comments carry the theme). The survey response rate alone counts invitations.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth, TruncWeek

from feedback.models import Feedback

from .dashboard_scope import Scope
from .selectors import ROLLUP_SUMS, rollup_rows, summed_counters

GROUPS = ("channel", "customer_kind", "product", "segment", "week", "month")
_GROUP_COLUMNS = {
    "channel": F("channel"),
    "customer_kind": F("customer_kind"),
    "product": F("product_id"),
    "segment": F("segment_id"),
    "week": TruncWeek("day"),
    "month": TruncMonth("day"),
}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _normalise_key(key):
    return key.date() if isinstance(key, dt.datetime) else key


def scoped_sums(scope: Scope, *, group: str | None = None) -> dict:
    """Rollup counters (``ROLLUP_SUMS``; under a theme filter the survey scores of the
    responses whose comments carry the theme) for the scope's UTC days and filters, as ``{key: sums}`` with ``key`` the ``group`` value
    (``None`` when not grouped; a date for week and month). One query."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    rows = rollup_rows(**scope.filter_kwargs, by_segment=group == "segment")
    sums = summed_counters(rows)
    if group is None:
        grouped = [{"key": None, **rows.aggregate(**sums)}]
    else:
        grouped = rows.annotate(key=_GROUP_COLUMNS[group]).values("key").annotate(**sums).order_by()
    empty = dict.fromkeys(ROLLUP_SUMS, 0)
    result: dict = {}
    for row in grouped:
        key = _normalise_key(row.pop("key"))
        result[key] = {**empty, **{name: value or 0 for name, value in row.items()}}
    if group is None:
        result.setdefault(None, dict(empty))
    return result


def response_rate_counts(scope: Scope) -> tuple[int, int] | None:
    """(answered, sent) for survey invitations sent in the scope's days; None when the
    scope leaves out surveys (another channel, or a theme)."""
    from surveys.models import Invitation

    start, end = scope.start, scope.end
    product_id, channel, customer_kind = (
        scope.filter_kwargs["product_id"],
        scope.channel,
        scope.customer_kind,
    )
    segment_id, theme_id = scope.filter_kwargs["segment_id"], scope.filter_kwargs["theme_id"]
    if theme_id is not None or channel not in ("", Feedback.Channel.SURVEY):
        return None
    rows = Invitation.objects.filter(sent_at__gte=_midnight(start), sent_at__lt=_midnight(end))
    if product_id is not None:
        rows = rows.filter(survey__product_id=product_id)
    if customer_kind:
        rows = rows.filter(customer__kind=customer_kind)
    if segment_id is not None:
        rows = rows.filter(customer__segments=segment_id)
    counts = rows.aggregate(
        sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False))
    )
    return counts["answered"], counts["sent"]


def products_by_id(ids) -> dict:
    from feedback.models import Product

    return {product.pk: product for product in Product.objects.filter(pk__in=ids)}


def live_segments_by_id() -> dict:
    from customization.models import Segment

    return {segment.pk: segment for segment in Segment.objects.live()}


def latest_forecast(*, metric: str, product_id: int | None, theme_id: int | None = None):
    """The stored forecast of ``metric`` for one product, one theme, or overall."""
    from .models import Forecast

    key = Forecast.key_for(product_id=product_id, theme_id=theme_id)
    return Forecast.objects.filter(metric=metric, scope_key=key).first()
