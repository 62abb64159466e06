"""Dashboard reads: from the daily rollup only, never a scan of raw feedback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, F, FloatField, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from feedback.models import Feedback

from .models import DailyFeedbackStat, DailySegmentStat, DailyThemeSegmentStat, DailyThemeStat


def weekly_series(*, weeks: int = 52, today: dt.date | None = None) -> list[dict]:
    """Volume and average sentiment per ISO week (Monday) for the last ``weeks`` weeks."""
    series = []
    for week, sums in weekly_rollup_totals(weeks=weeks, today=today, include_current=True):
        analysed = sums["analysed_count"]
        series.append(
            {
                "week": week.isoformat(),
                "volume": sums["feedback_count"],
                "average_sentiment": round(sums["sentiment_sum"] / analysed, 4)
                if analysed
                else None,
            }
        )
    return series


def pending_analysis_count() -> int:
    return Feedback.objects.unanalysed().count()


def sentiment_models():
    from .models import SentimentModel

    return SentimentModel.objects.select_related("activated_by").order_by("-version")


def open_alert_count() -> int:
    """Alerts nobody has acknowledged or resolved yet (the navigation's badge)."""
    from .models import Alert

    return Alert.objects.filter(status=Alert.Status.OPEN).count()


def labelled_feedback_counts() -> dict[str, int]:
    from .models import SentimentCorrection

    return {
        # What training can learn from: a rating or a correction with a comment.
        "rated": Feedback.objects.filter(rating_normalised__isnull=False).exclude(text="").count(),
        "corrected": SentimentCorrection.objects.exclude(feedback__text="").count(),
    }


# --- Rollup totals and weekly metric series (alerts, forecasts, control charts) --------


def utc_day_filter(field: str, days: list[dt.date] | None, since: dt.date | None) -> Q:
    """Rows whose ``field`` falls on one of the UTC ``days`` (all days when None) and on
    or after ``since`` (when given)."""
    condition = Q()
    if since is not None:
        condition &= Q(**{f"{field}__gte": dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)})
    if days is not None:
        day_filter = Q()
        for day in days:
            start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
            day_filter |= Q(
                **{f"{field}__gte": start, f"{field}__lt": start + dt.timedelta(days=1)}
            )
        condition &= day_filter
    return condition


ROLLUP_SUMS = [
    "feedback_count",
    "analysed_count",
    "sentiment_sum",
    "sentiment_sq_sum",
    "negative_count",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "csat_count",
    "csat_sum",
    "csat_sq_sum",
    "csat_satisfied",
    "ces_count",
    "ces_sum",
    "ces_sq_sum",
]


# The feedback counters and the survey-score counters of ``ROLLUP_SUMS`` (every rollup,
# the theme ones included, keeps both).
FEEDBACK_SUMS = ROLLUP_SUMS[:5]
SCORE_SUMS = ROLLUP_SUMS[5:]


def rollup_rows(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    product_id=None,
    channel: str = "",
    customer_kind: str = "",
    segment_id=None,
    theme_id=None,
    by_segment: bool = False,
):
    """The rollup rows for UTC days ``start`` ≤ day < ``end`` and the filters: from the
    daily rollup, or the segment one (a segment filter, or ``by_segment``), or their theme
    variants with a theme filter. Sum :func:`summed_counters` of the rows."""
    per_segment = segment_id is not None or by_segment
    if theme_id is not None:
        model = DailyThemeSegmentStat if per_segment else DailyThemeStat
    else:
        model = DailySegmentStat if per_segment else DailyFeedbackStat
    rows = model.objects.all()
    if theme_id is not None:
        rows = rows.filter(theme_id=theme_id)
    if segment_id is not None:
        rows = rows.filter(segment_id=segment_id)
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lt=end)
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    if channel:
        rows = rows.filter(channel=channel)
    if customer_kind:
        rows = rows.filter(customer_kind=customer_kind)
    return rows


def summed_counters(rows) -> dict:
    """``Sum`` of each counter the rows' rollup keeps (``ROLLUP_SUMS``, every rollup)."""
    return {name: Sum(name) for name in ROLLUP_SUMS}


@dataclass(frozen=True)
class PeriodSums:
    """The rollup totals of the last ``days`` days (today included) and of the ``days``
    before them; volume over the ``days`` full days ending yesterday and the ``days``
    before those, as alert rules count it (today's count is still growing). Windows are
    (first day, day after the last)."""

    start: dt.date
    end: dt.date
    before: dt.date
    volume_start: dt.date
    volume_end: dt.date
    volume_before: dt.date
    current: dict
    previous: dict
    volume_current: dict
    volume_previous: dict

    def of(self, metric: str) -> tuple[dict, dict]:
        """(current, previous) totals for ``metric``."""
        if metric == "volume":
            return self.volume_current, self.volume_previous
        return self.current, self.previous


def period_sums(*, days: int, today: dt.date, **where) -> PeriodSums:
    """:class:`PeriodSums` for the filters ``where`` (those of :func:`rollup_totals`)."""
    end = today + dt.timedelta(days=1)
    start, before = end - dt.timedelta(days=days), end - dt.timedelta(days=2 * days)
    volume_start, volume_before = start - dt.timedelta(days=1), before - dt.timedelta(days=1)
    return PeriodSums(
        start=start,
        end=end,
        before=before,
        volume_start=volume_start,
        volume_end=today,
        volume_before=volume_before,
        current=rollup_totals(start=start, end=end, **where),
        previous=rollup_totals(start=before, end=start, **where),
        volume_current=rollup_totals(start=volume_start, end=today, **where),
        volume_previous=rollup_totals(start=volume_before, end=volume_start, **where),
    )


def rollup_totals(
    *,
    start: dt.date,
    end: dt.date,
    product_id=None,
    channel: str = "",
    customer_kind: str = "",
    segment_id=None,
    theme_id=None,
) -> dict[str, float]:
    """Sums of the rollup counters for UTC days ``start`` ≤ day < ``end`` and the filters,
    from the rollup :func:`rollup_rows` picks for them (the dashboard's figures)."""
    totals = rollup_rows(
        start=start,
        end=end,
        product_id=product_id,
        channel=channel,
        customer_kind=customer_kind,
        segment_id=segment_id,
        theme_id=theme_id,
    ).aggregate(**{name: Sum(name) for name in ROLLUP_SUMS})
    return {name: value or 0 for name, value in totals.items()}


def weekly_rollup_totals(
    *,
    weeks: int,
    today: dt.date | None = None,
    include_current: bool = False,
    **where,
) -> list[tuple[dt.date, dict]]:
    """Rollup sums per ISO week (Monday), oldest first, ``weeks`` weeks long (weeks without
    rows count zero), for the filters ``where`` (those of :func:`rollup_rows`), in one
    query. Without ``include_current`` the series ends with the last complete week."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    last_monday = this_monday if include_current else this_monday - dt.timedelta(weeks=1)
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    rows = (
        rollup_rows(start=first_monday, end=last_monday + dt.timedelta(weeks=1), **where)
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(**{name: Sum(name) for name in ROLLUP_SUMS})
        .order_by("week")
    )
    by_week = {}
    for row in rows:
        week = row.pop("week")
        by_week[week.date() if isinstance(week, dt.datetime) else week] = row
    empty = dict.fromkeys(ROLLUP_SUMS, 0)
    return [
        (week, {**empty, **{k: v or 0 for k, v in by_week.get(week, {}).items()}})
        for week in (first_monday + dt.timedelta(weeks=n) for n in range(weeks))
    ]


def active_product_ids(*, since: dt.date, limit: int = 20) -> list[int]:
    """Products with the most feedback since ``since`` (the ones worth a forecast)."""
    rows = (
        DailyFeedbackStat.objects.filter(day__gte=since, product_id__isnull=False)
        .values("product_id")
        .annotate(volume=Sum("feedback_count"))
        .order_by("-volume", "product_id")[:limit]
    )
    return [row["product_id"] for row in rows]


def active_theme_ids(*, since: dt.date, limit: int) -> list[int]:
    """Themes with the most feedback since ``since`` (the ones worth a forecast)."""
    rows = (
        DailyThemeStat.objects.filter(day__gte=since)
        .values("theme_id")
        .annotate(volume=Sum("feedback_count"))
        .order_by("-volume", "theme_id")[:limit]
    )
    return [row["theme_id"] for row in rows]


def weekly_theme_periods(*, weeks: int, today: dt.date | None = None) -> dict[int, list[dict]]:
    """Per theme: feedback and negative counts per ISO week, oldest first, ending with the
    current (partial) week."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    first_monday = this_monday - dt.timedelta(weeks=weeks - 1)
    rows = (
        DailyThemeStat.objects.filter(day__gte=first_monday, day__lte=today)
        .annotate(week=TruncWeek("day"))
        .values("theme_id", "week")
        .annotate(count=Sum("feedback_count"), negative=Sum("negative_count"))
        .order_by()
    )
    index = {first_monday + dt.timedelta(weeks=n): n for n in range(weeks)}
    series: dict[int, list[dict]] = {}
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        periods = series.setdefault(
            row["theme_id"], [{"count": 0, "negative": 0} for _ in range(weeks)]
        )
        periods[index[week]] = {"count": row["count"] or 0, "negative": row["negative"] or 0}
    return series


def feedback_volume_by_week(*, weeks: int, today: dt.date | None = None) -> list[int]:
    """All feedback per ISO week ending with the current one (the exposure for themes)."""
    totals = weekly_rollup_totals(weeks=weeks, today=today, include_current=True)
    return [sums["feedback_count"] for _, sums in totals]


# --- Monitoring pages -------------------------------------------------------------------


def alerts_for_page(*, status: str = "unresolved"):
    from .models import Alert

    alerts = Alert.objects.select_related(
        "rule", "product", "theme", "feedback", "acknowledged_by", "resolved_by"
    )
    if status == "unresolved":
        alerts = alerts.unresolved()
    elif status in Alert.Status.values:
        alerts = alerts.filter(status=status)
    return alerts.order_by("-last_seen_at", "-id")


def alert_rules():
    from .models import AlertRule

    return AlertRule.objects.select_related(
        "product", "theme", "segment", "created_by"
    ).prefetch_related("notify_users")


def product_owners():
    from .models import ProductOwner

    return ProductOwner.objects.select_related("product", "owner")


def analysis_runs(*, kind: str = "", limit: int = 100):
    from .models import AnalysisRun

    runs = AnalysisRun.objects.all()
    if kind:
        runs = runs.filter(kind=kind)
    return runs.order_by("-started_at", "-id")[:limit]


def forecasts():
    from .models import Forecast

    return Forecast.objects.select_related("product", "theme").order_by("metric", "scope_key")


def squared(field: str):
    """``field²`` in SQL; values too small to square are counted as 0 (PostgreSQL raises on
    float underflow instead of rounding to zero, and such values add nothing anyway)."""
    tiny = Q(**{f"{field}__gt": -1e-150, f"{field}__lt": 1e-150})
    return Case(When(tiny, then=Value(0.0)), default=F(field) * F(field), output_field=FloatField())


def feedback_counters(via: str = "") -> dict:
    """The feedback counters every rollup keeps (``FEEDBACK_SUMS``), as aggregate
    expressions over Feedback, or over a model reaching it through ``via`` (such as
    ``"feedback__"`` from a theme link)."""
    return {
        "feedback_count": Count(f"{via}id"),
        "analysed_count": Count(f"{via}id", filter=Q(**{f"{via}analysed_at__isnull": False})),
        "sentiment_sum": Coalesce(Sum(f"{via}sentiment_score"), 0.0),
        "sentiment_sq_sum": Coalesce(Sum(squared(f"{via}sentiment_score")), 0.0),
        "negative_count": Count(f"{via}id", filter=Q(**{f"{via}sentiment_label": "negative"})),
    }


def answer_counters(via: str = "") -> dict:
    """The NPS / CSAT / CES counters of the rollups (``SCORE_SUMS``), as aggregate
    expressions over Answer, or over a model reaching it through ``via`` (such as
    ``"feedback__survey_answer__response__answers__"`` from a theme link). The caller
    keeps the answers to the scored kinds with a number."""
    from surveys.models import Question

    def kind(value: str) -> Q:
        return Q(**{f"{via}question__kind": value})

    def number(lookup: str, value: float) -> Q:
        return Q(**{f"{via}number__{lookup}": value})

    nps, csat, ces = kind(Question.Kind.NPS), kind(Question.Kind.CSAT), kind(Question.Kind.CES)
    answer, score = f"{via}id", f"{via}number"
    return {
        "nps_promoters": Count(answer, filter=nps & number("gte", 9)),
        "nps_passives": Count(answer, filter=nps & number("gte", 7) & number("lt", 9)),
        "nps_detractors": Count(answer, filter=nps & number("lt", 7)),
        "csat_count": Count(answer, filter=csat),
        "csat_sum": Coalesce(Sum(score, filter=csat), 0.0),
        "csat_sq_sum": Coalesce(Sum(squared(score), filter=csat), 0.0),
        "csat_satisfied": Count(answer, filter=csat & number("gte", 4)),
        "ces_count": Count(answer, filter=ces),
        "ces_sum": Coalesce(Sum(score, filter=ces), 0.0),
        "ces_sq_sum": Coalesce(Sum(squared(score), filter=ces), 0.0),
    }
