"""Dashboard reads: from the daily rollup only, never a scan of raw feedback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from feedback.models import Feedback

from .models import DailyFeedbackStat


@dataclass(frozen=True)
class PeriodKpis:
    volume: int
    analysed: int
    average_sentiment: float | None
    negative_share: float | None
    average_rating: float | None


def _kpis(start: dt.date, end: dt.date) -> PeriodKpis:
    totals = DailyFeedbackStat.objects.filter(day__gte=start, day__lt=end).aggregate(
        volume=Sum("feedback_count"),
        analysed=Sum("analysed_count"),
        sentiment_sum=Sum("sentiment_sum"),
        negative=Sum("negative_count"),
        rating_count=Sum("rating_count"),
        rating_sum=Sum("rating_sum"),
    )
    analysed = totals["analysed"] or 0
    rating_count = totals["rating_count"] or 0
    return PeriodKpis(
        volume=totals["volume"] or 0,
        analysed=analysed,
        average_sentiment=(totals["sentiment_sum"] / analysed) if analysed else None,
        negative_share=(totals["negative"] / analysed) if analysed else None,
        average_rating=(totals["rating_sum"] / rating_count) if rating_count else None,
    )


def kpi_comparison(*, days: int = 30, today: dt.date | None = None) -> dict[str, PeriodKpis]:
    """KPIs of the last ``days`` days (today included) and of the period before."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    end = today + dt.timedelta(days=1)
    start = end - dt.timedelta(days=days)
    return {"current": _kpis(start, end), "previous": _kpis(start - dt.timedelta(days=days), start)}


def weekly_series(*, weeks: int = 52, today: dt.date | None = None) -> list[dict]:
    """Volume and average sentiment per ISO week (Monday) for the last ``weeks`` weeks."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    first_monday = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    rows = (
        DailyFeedbackStat.objects.filter(day__gte=first_monday)
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(
            volume=Sum("feedback_count"),
            analysed=Sum("analysed_count"),
            sentiment_sum=Sum("sentiment_sum"),
        )
        .order_by("week")
    )
    by_week = {}
    for row in rows:
        week = row["week"]
        if isinstance(week, dt.datetime):
            week = week.date()
        by_week[week] = row
    series = []
    for n in range(weeks):
        week = first_monday + dt.timedelta(weeks=n)
        row = by_week.get(week)
        analysed = (row or {}).get("analysed") or 0
        series.append(
            {
                "week": week.isoformat(),
                "volume": (row or {}).get("volume") or 0,
                "average_sentiment": round(row["sentiment_sum"] / analysed, 4) if analysed else None,
            }
        )
    return series


def pending_analysis_count() -> int:
    return Feedback.objects.unanalysed().count()


def sentiment_models():
    from .models import SentimentModel

    return SentimentModel.objects.select_related("activated_by").order_by("-version")


def labelled_feedback_counts() -> dict[str, int]:
    from .models import SentimentCorrection

    return {
        "rated": Feedback.objects.filter(rating_normalised__isnull=False).count(),
        "corrected": SentimentCorrection.objects.count(),
    }
