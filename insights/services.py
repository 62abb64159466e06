"""Analysis writes: claim pending feedback, score it, keep the daily rollup current."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from feedback.models import Feedback

from .models import DailyFeedbackStat, DirtyRollupDay
from .scoring import Scorer, active_scorer

logger = logging.getLogger(__name__)

# Keeps one rollup refresh at a time on PostgreSQL (SQLite serialises writers anyway).
_ROLLUP_LOCK_ID = 7_304_211


def analyse_pending_batch(*, batch_size: int | None = None) -> int:
    """Score up to ``batch_size`` unanalysed feedback rows; return how many."""
    return score_claimed_batch(
        Feedback.objects.unanalysed(),
        scorer=active_scorer(),
        batch_size=batch_size or settings.ANALYSIS_BATCH_SIZE,
    )


def score_claimed_batch(candidates, *, scorer: Scorer, batch_size: int) -> int:
    """Claim up to ``batch_size`` rows of ``candidates``, score them, mark their days dirty.

    Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it,
    so several workers share the work without scoring a row twice; scores are written in
    the claiming transaction, so a worker killed mid-batch leaves its rows to the next one.
    Returns how many rows were scored.
    """
    with transaction.atomic():
        claim = candidates.order_by("id").only("id", "text", "received_at")
        if connection.features.has_select_for_update_skip_locked:
            claim = claim.select_for_update(skip_locked=True, of=("self",))
        rows = list(claim[:batch_size])
        if not rows:
            return 0
        write_scores(rows, scorer)
        mark_days_dirty({timezone.localtime(row.received_at, dt.UTC).date() for row in rows})
    return len(rows)


SCORE_FIELDS = [
    "sentiment_score",
    "sentiment_label",
    "sentiment_model",
    "analysed_at",
    "positive_excerpt",
    "positive_excerpt_score",
    "negative_excerpt",
    "negative_excerpt_score",
]


def write_scores(rows: list[Feedback], scorer: Scorer) -> None:
    """Score ``rows`` (claimed by the caller) with ``scorer`` and save the analysis fields."""
    results = scorer.score_mixed([row.text for row in rows])
    now = timezone.now()
    for row, result in zip(rows, results, strict=True):
        row.sentiment_score = result.overall.score
        row.sentiment_label = result.overall.label
        row.sentiment_model = scorer.name
        row.analysed_at = now
        row.positive_excerpt = result.positive.text if result.positive else ""
        row.positive_excerpt_score = result.positive.score if result.positive else None
        row.negative_excerpt = result.negative.text if result.negative else ""
        row.negative_excerpt_score = result.negative.score if result.negative else None
    # One parameterised UPDATE per row: bulk_update() builds a CASE WHEN per row and field,
    # which took most of the worker's CPU.
    fields = [Feedback._meta.get_field(name) for name in SCORE_FIELDS]
    table = connection.ops.quote_name(Feedback._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s",
            [
                [f.get_db_prep_value(getattr(row, f.attname), connection) for f in fields] + [row.pk]
                for row in rows
            ],
        )


def analyse_all_pending(*, max_batches: int | None = None, refresh_rollups: bool = True) -> int:
    """Work through the backlog batch by batch; return the number of rows scored.

    With ``refresh_rollups`` the days the batches touched are recounted at the end; the
    wake-up task after each submission leaves that to the sweep, once a minute.
    """
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        done = analyse_pending_batch()
        if not done:
            break
        total += done
        batches += 1
    if refresh_rollups:
        refresh_dirty_days()
    return total


def mark_days_dirty(days) -> None:
    DirtyRollupDay.objects.bulk_create(
        [DirtyRollupDay(day=day) for day in sorted(set(days))], ignore_conflicts=True
    )


def refresh_dirty_days() -> int:
    """Recount the rollup of every day marked dirty; return how many days.

    The marks are removed before counting, so a batch that lands meanwhile marks its day
    again and the next refresh counts it: a day may be counted twice, never missed.
    """
    with transaction.atomic():
        days = list(DirtyRollupDay.objects.values_list("day", flat=True))
        if not days:
            return 0
        DirtyRollupDay.objects.filter(day__in=days).delete()
    refresh_daily_stats(days=days)
    return len(days)


def refresh_daily_stats(*, days: Iterable[dt.date] | None = None) -> int:
    """Recount the rollup for the given UTC days (all days when None); return row count."""
    feedback = Feedback.objects.all()
    if days is not None:
        days = sorted(set(days))
        if not days:
            return 0
        day_filter = Q()
        for day in days:
            start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
            day_filter |= Q(received_at__gte=start, received_at__lt=start + dt.timedelta(days=1))
        feedback = feedback.filter(day_filter)
    grouped = (
        feedback.annotate(
            day=TruncDate("received_at", tzinfo=dt.UTC),
            kind=Coalesce(F("customer__kind"), Value("external")),
        )
        .values("day", "channel", "product_id", "kind")
        .annotate(
            feedback_count=Count("id"),
            analysed_count=Count("id", filter=Q(analysed_at__isnull=False)),
            sentiment_sum=Coalesce(Sum("sentiment_score"), 0.0),
            negative_count=Count("id", filter=Q(sentiment_label="negative")),
            neutral_count=Count("id", filter=Q(sentiment_label="neutral")),
            positive_count=Count("id", filter=Q(sentiment_label="positive")),
            rating_count=Count("rating_normalised"),
            rating_sum=Coalesce(Sum("rating_normalised"), 0.0),
        )
        .order_by()
    )
    with transaction.atomic():
        # Count inside the lock: a refresh that started earlier cannot overwrite newer counts.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ROLLUP_LOCK_ID])
        stats = [
            DailyFeedbackStat(
                day=row["day"],
                channel=row["channel"],
                product_id=row["product_id"],
                customer_kind=row["kind"],
                feedback_count=row["feedback_count"],
                analysed_count=row["analysed_count"],
                sentiment_sum=row["sentiment_sum"],
                negative_count=row["negative_count"],
                neutral_count=row["neutral_count"],
                positive_count=row["positive_count"],
                rating_count=row["rating_count"],
                rating_sum=row["rating_sum"],
            )
            for row in grouped
        ]
        existing = DailyFeedbackStat.objects.all()
        if days is not None:
            existing = existing.filter(day__in=days)
        existing.delete()
        DailyFeedbackStat.objects.bulk_create(stats, batch_size=2000)
    return len(stats)


def refresh_recent_daily_stats(*, days_back: int = 3) -> int:
    today = timezone.now().astimezone(dt.UTC).date()
    return refresh_daily_stats(days=[today - dt.timedelta(days=n) for n in range(days_back)])
