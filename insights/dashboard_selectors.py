"""Dashboard reads: rollup sums for a scope, whole or grouped by one dimension.

Without a theme filter every number comes from a rollup: :class:`DailyFeedbackStat`, or
:class:`DailySegmentStat` for a segment filter and the segment ranking. The theme rollup
keeps no sums of squares, so a theme filter counts the feedback of that window directly,
in one grouped query per source, with the same definitions as the rollups (anonymous
feedback is external; survey scores count on the response's day).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek

from feedback.models import Customer, Feedback

from .dashboard_scope import Scope
from .models import DailyFeedbackStat, DailySegmentStat
from .selectors import ROLLUP_SUMS, answer_counters, feedback_counters

GROUPS = ("channel", "customer_kind", "product", "segment", "week", "month")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _rollup_rows(*, start, end, product_id, channel, customer_kind, segment_id, by_segment, **_):
    if segment_id is not None or by_segment:
        rows = DailySegmentStat.objects.filter(day__gte=start, day__lt=end)
        if segment_id is not None:
            rows = rows.filter(segment_id=segment_id)
    else:
        rows = DailyFeedbackStat.objects.filter(day__gte=start, day__lt=end)
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    if channel:
        rows = rows.filter(channel=channel)
    if customer_kind:
        rows = rows.filter(customer_kind=customer_kind)
    return rows


def _raw_feedback(*, start, end, product_id, channel, customer_kind, segment_id, theme_id):
    rows = Feedback.objects.filter(
        received_at__gte=_midnight(start), received_at__lt=_midnight(end)
    )
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    if channel:
        rows = rows.filter(channel=channel)
    if customer_kind == Customer.Kind.EXTERNAL:
        rows = rows.filter(Q(customer__kind=customer_kind) | Q(customer__isnull=True))
    elif customer_kind:
        rows = rows.filter(customer__kind=customer_kind)
    if segment_id is not None:
        rows = rows.filter(customer__segments=segment_id)
    if theme_id is not None:
        rows = rows.filter(themes__theme=theme_id)
    return rows.annotate(kind=Coalesce(F("customer__kind"), Value(Customer.Kind.EXTERNAL)))


def _raw_answers(*, start, end, product_id, channel, customer_kind, segment_id, theme_id):
    """Score answers in the scope, or None when the scope excludes survey scores."""
    from surveys.models import Answer, Question

    if theme_id is not None or channel not in ("", Feedback.Channel.SURVEY):
        return None
    rows = Answer.objects.filter(
        response__submitted_at__gte=_midnight(start),
        response__submitted_at__lt=_midnight(end),
        question__kind__in=[Question.Kind.NPS, Question.Kind.CSAT, Question.Kind.CES],
        number__isnull=False,
    ).annotate(kind=Coalesce(F("response__customer__kind"), F("response__survey__audience")))
    if product_id is not None:
        rows = rows.filter(response__survey__product_id=product_id)
    if customer_kind:
        rows = rows.filter(kind=customer_kind)
    if segment_id is not None:
        rows = rows.filter(response__customer__segments=segment_id)
    return rows


def _group_expressions(source: str, group: str):
    """The grouping expression for ``group`` in a source: rollup, feedback or answers."""
    time_field = {"rollup": "day", "feedback": "received_at", "answers": "response__submitted_at"}
    if group in ("week", "month"):
        trunc = TruncWeek if group == "week" else TruncMonth
        if source == "rollup":
            return trunc("day")
        return trunc(TruncDate(time_field[source], tzinfo=dt.UTC))
    return {
        "rollup": {
            "channel": "channel",
            "customer_kind": "customer_kind",
            "product": "product_id",
            "segment": "segment_id",
        },
        "feedback": {
            "channel": "channel",
            "customer_kind": "kind",
            "product": "product_id",
            "segment": "customer__segments",
        },
        "answers": {
            "channel": Value(Feedback.Channel.SURVEY),
            "customer_kind": "kind",
            "product": "response__survey__product_id",
            "segment": "response__customer__segments",
        },
    }[source][group]


def _aggregate(rows, sums: dict, group: str | None, source: str):
    if group is None:
        return [{"key": None, **rows.aggregate(**sums)}]
    expression = _group_expressions(source, group)
    if isinstance(expression, str):
        grouped = rows.values(key=F(expression))
    else:
        grouped = rows.annotate(key=expression).values("key")
    return list(grouped.annotate(**sums).order_by())


def _normalise_key(key):
    return key.date() if isinstance(key, dt.datetime) else key


def scoped_sums(scope: Scope, *, group: str | None = None) -> dict:
    """Rollup counters (``ROLLUP_SUMS``) for the scope's UTC days and filters, as
    ``{key: sums}`` with ``key`` the ``group`` value (``None`` when not grouped; a date
    for week and month). One or two queries."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    filters = scope.filter_kwargs
    if filters["theme_id"] is None:
        rows = _rollup_rows(**filters, by_segment=group == "segment")
        sources = [(rows, {name: Sum(name) for name in ROLLUP_SUMS}, "rollup")]
    else:
        sources = [(_raw_feedback(**filters), feedback_counters(), "feedback")]
        answers = _raw_answers(**filters)
        if answers is not None:
            sources.append((answers, answer_counters(), "answers"))
    empty = dict.fromkeys(ROLLUP_SUMS, 0)
    result: dict = {}
    for rows, sums, source in sources:
        for row in _aggregate(rows, sums, group, source):
            key = _normalise_key(row.pop("key"))
            if group == "segment" and key is None:
                continue
            target = result.setdefault(key, dict(empty))
            for name, value in row.items():
                target[name] += value or 0
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


def latest_forecast(*, metric: str, product_id: int | None):
    from .models import Forecast

    key = f"product:{product_id}" if product_id else "overall"
    return Forecast.objects.filter(metric=metric, scope_key=key).first()
