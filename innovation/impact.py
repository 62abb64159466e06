"""The impact check: did the pain go down after an idea shipped?

When ``impact_check_due`` has come (``IDEA_IMPACT_CHECK_WEEKS`` after shipping), the idea's
theme — narrowed to the idea's product when it has one — is compared in two equally long
windows from the daily theme rollup: the complete days after the shipping day up to the
due day, and as many days just before the shipping day. The shipping day itself belongs to
neither (it is half before, half after). Volume, negative share and average sentiment are
tested as :mod:`innovation.analysis.impact` describes; the verdict and its numbers land in
``impact_result`` and ``impact_details``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from insights.models import DailyThemeStat

from .analysis.impact import Window, compare_windows, daily_means
from .models import Idea


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def impact_windows(idea: Idea) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """``((before_start, before_end), (after_start, after_end))``, each ``start ≤ day < end``."""
    shipped = idea.shipped_at.astimezone(dt.UTC).date()
    due = idea.impact_check_due or shipped + dt.timedelta(weeks=settings.IDEA_IMPACT_CHECK_WEEKS)
    length = max(1, (due - shipped).days - 1)
    after = (shipped + dt.timedelta(days=1), shipped + dt.timedelta(days=1 + length))
    before = (shipped - dt.timedelta(days=length), shipped)
    return before, after


def _window(rows: list[dict], start: dt.date, end: dt.date) -> Window:
    days = [row for row in rows if start <= row["day"] < end]
    return Window(
        days=(end - start).days,
        feedback_count=sum(row["feedback"] for row in days),
        analysed_count=sum(row["analysed"] for row in days),
        negative_count=sum(row["negative"] for row in days),
        sentiment_sum=sum(row["sentiment"] for row in days),
        daily_sentiment=daily_means([(row["analysed"], row["sentiment"]) for row in days]),
    )


def theme_days(*, theme_id: int, product_id: int | None, start: dt.date, end: dt.date):
    """The theme's rollup summed per day (all channels and customer kinds), one query."""
    rows = DailyThemeStat.objects.filter(theme_id=theme_id, day__gte=start, day__lt=end)
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    return list(
        rows.values("day")
        .annotate(
            feedback=Sum("feedback_count"),
            analysed=Sum("analysed_count"),
            negative=Sum("negative_count"),
            sentiment=Sum("sentiment_sum"),
        )
        .order_by("day")
    )


def check_idea_impact(*, idea: Idea, now: dt.datetime | None = None) -> Idea:
    """Compare the idea's theme before and after shipping; save and return the verdict.

    Raises ``ValidationError`` for an idea that is not shipped or has no theme. Running it
    again recomputes the same verdict from the same rollup (it only writes the result).
    """
    if idea.status != Idea.Status.SHIPPED or idea.shipped_at is None:
        raise ValidationError("Only a shipped idea has an impact to check.")
    if idea.theme_id is None:
        raise ValidationError("The impact check needs the idea's theme.")
    (before_start, before_end), (after_start, after_end) = impact_windows(idea)
    rows = theme_days(
        theme_id=idea.theme_id, product_id=idea.product_id, start=before_start, end=after_end
    )
    details = compare_windows(
        _window(rows, before_start, before_end),
        _window(rows, after_start, after_end),
        alpha=settings.INSIGHTS_SIGNIFICANCE_ALPHA,
    )
    details["windows"] = {
        "before": [before_start.isoformat(), (before_end - dt.timedelta(days=1)).isoformat()],
        "after": [after_start.isoformat(), (after_end - dt.timedelta(days=1)).isoformat()],
    }
    details["theme_id"] = idea.theme_id
    details["product_id"] = idea.product_id
    checked_at = now or timezone.now()
    Idea.objects.filter(pk=idea.pk).update(
        impact_result=details["result"], impact_details=details, impact_checked_at=checked_at
    )
    idea.impact_result, idea.impact_details = details["result"], details
    idea.impact_checked_at = checked_at
    return idea


def due_for_impact_check(*, today: dt.date | None = None):
    """Shipped ideas with a theme whose check is due and not done yet."""
    return Idea.objects.live().filter(
        status=Idea.Status.SHIPPED,
        shipped_at__isnull=False,
        theme__isnull=False,
        impact_check_due__lte=today or _today(),
        impact_checked_at__isnull=True,
    )


def check_due_impacts(*, today: dt.date | None = None) -> dict[int, str]:
    """Check every idea due (the daily task); idea id → verdict."""
    return {
        idea.pk: check_idea_impact(idea=idea).impact_result
        for idea in due_for_impact_check(today=today).order_by("impact_check_due", "pk")
    }
