"""Data builders for the roadmap, suggestion, loop and impact tests."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from feedback.tests.factories import FeedbackFactory
from innovation import services
from innovation.models import Idea
from insights.models import DailyThemeStat, FeedbackTheme, Theme

TODAY = timezone.now().astimezone(dt.UTC).date()


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def theme(name: str = "Checkout errors") -> Theme:
    slug = name.lower().replace(" ", "-")
    return Theme.objects.create(name=name, slug=slug)


def day_stat(
    theme: Theme,
    day: dt.date,
    *,
    count: int,
    negative: int = 0,
    sentiment_sum: float | None = None,
    product=None,
) -> DailyThemeStat:
    """One rollup row; every item analysed, sentiment −0.6 for negatives, +0.3 for others
    unless ``sentiment_sum`` is given."""
    if sentiment_sum is None:
        sentiment_sum = -0.6 * negative + 0.3 * (count - negative)
    return DailyThemeStat.objects.create(
        day=day, theme=theme, channel="form", product=product, customer_kind="external",
        feedback_count=count, analysed_count=count, negative_count=negative,
        sentiment_sum=sentiment_sum,
    )  # fmt: skip


def themed_feedback(theme: Theme, *, n: int = 1, when: dt.datetime | None = None, **fields):
    """Feedback rows linked to ``theme`` (negative by default), newest when ``when`` is None."""
    fields.setdefault("sentiment_label", "negative")
    fields.setdefault("sentiment_score", -0.7)
    rows = []
    for _ in range(n):
        received = when or timezone.now() - dt.timedelta(days=2)
        feedback = FeedbackFactory(received_at=received, analysed_at=received, **fields)
        FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=0.8, source="model")
        rows.append(feedback)
    return rows


def idea(user, **kwargs) -> Idea:
    """An idea made by the backlog's own service."""
    return services.create_idea(
        title=kwargs.pop("title", "One-page checkout"),
        problem=kwargs.pop("problem", "Customers abandon the three-step checkout."),
        created_by=user,
        **kwargs,
    )


def place(idea_row: Idea, lane: str, position: int) -> Idea:
    """Put an idea straight into a lane (test set-up, without the status rule)."""
    Idea.objects.filter(pk=idea_row.pk).update(
        lane=lane, lane_position=position, status=Idea.Status.PLANNED
    )
    idea_row.refresh_from_db()
    return idea_row


def shipped(idea_row: Idea, *, days_ago: int, weeks: int = 6, **fields) -> Idea:
    """Mark an idea shipped ``days_ago`` days ago, its check due ``weeks`` weeks later."""
    when = timezone.now() - dt.timedelta(days=days_ago)
    due = when.astimezone(dt.UTC).date() + dt.timedelta(weeks=weeks)
    Idea.objects.filter(pk=idea_row.pk).update(
        status=Idea.Status.SHIPPED, shipped_at=when, impact_check_due=due, **fields
    )
    idea_row.refresh_from_db()
    return idea_row
