"""Analysis writes: claim pending feedback, score it, keep the daily rollup current."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from api import webhooks
from feedback.models import Feedback
from feedback.privacy import masked_for_processing

from . import theme_services
from .models import DailyFeedbackStat, DailySegmentStat, DirtyRollupDay, RollupVersion
from .scoring import Scorer, active_scorer
from .selectors import (
    ROLLUP_SUMS,
    SCORE_SUMS,
    answer_counters,
    feedback_counters,
    utc_day_filter,
)

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
        theme_services.assign_themes(
            [row.pk for row in rows], texts=[masked_for_processing(row.text) for row in rows]
        )
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
    # Excerpts come from the masked text, so no contact details reach the dashboards.
    results = scorer.score_mixed([masked_for_processing(row.text) for row in rows])
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
    # bulk_update() builds a CASE WHEN per row and field, which took most of the worker's
    # CPU. PostgreSQL gets one UPDATE … FROM (VALUES …) for the batch; elsewhere one
    # parameterised UPDATE per row.
    fields = [Feedback._meta.get_field(name) for name in SCORE_FIELDS]
    values = [
        [row.pk] + [f.get_db_prep_value(getattr(row, f.attname), connection) for f in fields]
        for row in rows
    ]
    qn = connection.ops.quote_name
    table = qn(Feedback._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            columns = ", ".join(["id"] + [qn(f.column) for f in fields])
            assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields)
            template = (
                "("
                + ", ".join(["%s::bigint"] + [f"%s::{f.cast_db_type(connection)}" for f in fields])
                + ")"
            )
            execute_values(
                cursor.cursor,
                f"UPDATE {table} AS t SET {assignments} FROM (VALUES %s) AS v({columns}) "
                "WHERE t.id = v.id",
                values,
                template=template,
                page_size=len(values) or 1,
            )
        else:
            assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = %s",
                [row_values[1:] + row_values[:1] for row_values in values],
            )
    webhooks.emit_many("feedback.analysed", lambda: [webhooks.feedback_payload(r) for r in rows])


def analyse_all_pending(
    *,
    max_batches: int | None = None,
    refresh_rollups: bool = True,
    time_budget: float | None = None,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Work through the backlog batch by batch; return the number of rows scored.

    With ``refresh_rollups`` the days the batches touched are recounted at the end; the
    wake-up task after each submission leaves that to the sweep, once a minute. Once
    ``time_budget`` seconds are spent no new batch is started, so a task ends inside its
    time limit and the next run goes on with the rest. ``on_batch`` is told the rows
    scored so far after each batch (a run's progress bar).
    """
    total = 0
    batches = 0
    deadline = None if time_budget is None else time.monotonic() + time_budget
    while max_batches is None or batches < max_batches:
        done = analyse_pending_batch()
        total += done
        batches += 1
        if on_batch is not None:
            on_batch(total)
        # A short batch means the backlog is empty (or another worker holds the rest):
        # no need for one more claim query to find that out.
        if done < settings.ANALYSIS_BATCH_SIZE:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
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
    recount_days(days)
    return len(days)


def recount_days(days) -> None:
    """Recount every daily rollup of ``days``: overall and per segment, and per theme
    (the theme rollups keep survey scores too, so both change together)."""
    refresh_daily_stats(days=days)
    theme_services.refresh_daily_theme_stats(days=days)


_ROLLUP_COUNTERS = [
    "feedback_count",
    "analysed_count",
    "sentiment_sum",
    "sentiment_sq_sum",
    "negative_count",
    "neutral_count",
    "positive_count",
    "rating_count",
    "rating_sum",
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


def _feedback_counts(days, since):
    return (
        Feedback.objects.filter(utc_day_filter("received_at", days, since))
        .annotate(
            day=TruncDate("received_at", tzinfo=dt.UTC),
            kind=Coalesce(F("customer__kind"), Value("external")),
        )
        .values("day", "channel", "product_id", "kind")
        .annotate(
            **feedback_counters(),
            neutral_count=Count("id", filter=Q(sentiment_label="neutral")),
            positive_count=Count("id", filter=Q(sentiment_label="positive")),
            rating_count=Count("rating_normalised"),
            rating_sum=Coalesce(Sum("rating_normalised"), 0.0),
        )
        .order_by()
    )


def _survey_score_counts(days, since, *, segment_ids=None, by_segment: bool = False):
    """NPS / CSAT / CES answers per submission day, survey product and respondent kind
    (and the respondent's segment when ``by_segment``, only ``segment_ids`` if given)."""
    from surveys.models import Answer, Question

    nps, csat, ces = Question.Kind.NPS, Question.Kind.CSAT, Question.Kind.CES
    rows = Answer.objects.filter(
        utc_day_filter("response__submitted_at", days, since),
        question__kind__in=[nps, csat, ces],
        number__isnull=False,
    )
    groups = ["day", "survey_product_id", "kind"]
    if segment_ids is not None:
        rows = rows.filter(response__customer__segments__in=segment_ids)
    if by_segment:
        rows = rows.annotate(segment_id=F("response__customer__segments"))
        groups.append("segment_id")
    return (
        rows.annotate(
            day=TruncDate("response__submitted_at", tzinfo=dt.UTC),
            kind=Coalesce(F("response__customer__kind"), F("response__survey__audience")),
            survey_product_id=F("response__survey__product_id"),
        )
        .values(*groups)
        .annotate(**answer_counters())
        .order_by()
    )


def refresh_daily_stats(
    *, days: Iterable[dt.date] | None = None, since: dt.date | None = None
) -> int:
    """Recount the rollup for the given UTC days, or every day from ``since``, or all days
    when both are None; return the number of rollup rows written.

    Feedback and survey scores (NPS, CSAT, CES answers, counted under channel ``survey``)
    are merged into one row per day × channel × product × customer kind. Runs in one
    transaction: readers see the old rows or the new ones, never a half-written day.
    """
    if days is not None:
        days = sorted(set(days))
        if not days:
            return 0
    with transaction.atomic():
        # Count inside the lock: a refresh that started earlier cannot overwrite newer counts.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ROLLUP_LOCK_ID])
        merged: dict[tuple, dict] = {}
        for row in _feedback_counts(days, since):
            key = (row["day"], row["channel"], row["product_id"], row["kind"])
            merged[key] = row
        for row in _survey_score_counts(days, since):
            key = (row["day"], Feedback.Channel.SURVEY, row["survey_product_id"], row["kind"])
            target = merged.setdefault(key, {})
            for name, value in row.items():
                if name not in ("day", "survey_product_id", "kind"):
                    target[name] = value
        stats = [
            DailyFeedbackStat(
                day=day,
                channel=channel,
                product_id=product_id,
                customer_kind=kind,
                **{name: counts.get(name) or 0 for name in _ROLLUP_COUNTERS},
            )
            for (day, channel, product_id, kind), counts in merged.items()
        ]
        replace_rollup_rows(DailyFeedbackStat, stats, days=days, since=since)
        refresh_daily_segment_stats(days=days, since=since)
    return len(stats)


def _segment_feedback_counts(days, since, segment_ids):
    rows = Feedback.objects.filter(utc_day_filter("received_at", days, since))
    if segment_ids is not None:
        rows = rows.filter(customer__segments__in=segment_ids)
    return (
        rows.annotate(
            day=TruncDate("received_at", tzinfo=dt.UTC),
            segment_id=F("customer__segments"),
            kind=Coalesce(F("customer__kind"), Value("external")),
        )
        .values("day", "segment_id", "channel", "product_id", "kind")
        .annotate(**feedback_counters())
        .order_by()
    )


def refresh_daily_segment_stats(
    *,
    days: Iterable[dt.date] | None = None,
    since: dt.date | None = None,
    segment_ids: Iterable[int] | None = None,
) -> int:
    """Recount :class:`DailySegmentStat` for the given UTC days (or from ``since``, or
    all days) and segments (all when None); return the rows written.

    Two grouped queries (feedback, survey scores) joined through the segments' members,
    written in one transaction like the daily rollup. With ``segment_ids`` (a membership
    change) those segments' theme rollup rows are recounted too.
    """
    if days is not None:
        days = sorted(set(days))
        if not days:
            return 0
    if segment_ids is not None:
        segment_ids = sorted(set(segment_ids))
        if not segment_ids:
            return 0
    merged: dict[tuple, dict] = {}
    with transaction.atomic():
        for row in _segment_feedback_counts(days, since, segment_ids):
            if row["segment_id"] is not None:
                key = (
                    row["day"],
                    row["segment_id"],
                    row["channel"],
                    row["product_id"],
                    row["kind"],
                )
                merged[key] = row
        answers = _survey_score_counts(days, since, segment_ids=segment_ids, by_segment=True)
        for row in answers:
            if row["segment_id"] is None:
                continue
            key = (
                row["day"],
                row["segment_id"],
                Feedback.Channel.SURVEY,
                row["survey_product_id"],
                row["kind"],
            )
            target = merged.setdefault(key, {})
            for name in SCORE_SUMS:
                target[name] = row[name]
        stats = [
            DailySegmentStat(
                day=day,
                segment_id=segment_id,
                channel=channel,
                product_id=product_id,
                customer_kind=kind,
                **{name: counts.get(name) or 0 for name in ROLLUP_SUMS},
            )
            for (day, segment_id, channel, product_id, kind), counts in merged.items()
        ]
        replace_rollup_rows(
            DailySegmentStat, stats, days=days, since=since, segment_ids=segment_ids
        )
        if segment_ids is not None:  # a membership change: the theme rows follow
            theme_services.refresh_daily_theme_segment_stats(days=days, segment_ids=segment_ids)
        bump_rollup_version()
    return len(stats)


def replace_rollup_rows(model, rows: list, *, days=None, since=None, segment_ids=None) -> None:
    """Delete the ``model`` rollup rows of the UTC ``days``, or from ``since`` (all days
    when both are None), of ``segment_ids`` (all when None), then write ``rows``. Call
    inside the transaction that counted them."""
    existing = model.objects.all()
    if days is not None:
        existing = existing.filter(day__in=days)
    if since is not None:
        existing = existing.filter(day__gte=since)
    if segment_ids is not None:
        existing = existing.filter(segment_id__in=segment_ids)
    existing.delete()
    model.objects.bulk_create(rows, batch_size=2000)


def bump_rollup_version() -> str:
    """Give the rollups a new version token (cached dashboard blocks keyed on the old one
    are no longer read); return it. Call inside the transaction that recounts."""
    token = uuid.uuid4().hex
    if not RollupVersion.objects.filter(pk=1).update(token=token):
        RollupVersion.objects.bulk_create([RollupVersion(pk=1, token=token)], ignore_conflicts=True)
    return token


# The periodic recount covers today and the days before it up to this many in all.
RECENT_RECOUNT_DAYS = 3


def refresh_recent_daily_stats(*, days_back: int = RECENT_RECOUNT_DAYS) -> int:
    today = timezone.now().astimezone(dt.UTC).date()
    return refresh_daily_stats(days=[today - dt.timedelta(days=n) for n in range(days_back)])


def mark_moment_changed(moment: dt.datetime) -> None:
    """Something counted in the rollups happened at ``moment`` (a survey answer, say):
    its UTC day is recounted — by the periodic recount when recent, else as a dirty day."""
    day = moment.astimezone(dt.UTC).date()
    today = timezone.now().astimezone(dt.UTC).date()
    if day <= today - dt.timedelta(days=RECENT_RECOUNT_DAYS):
        mark_days_dirty([day])


def rebuild_rollups(*, since: dt.date | None = None) -> dict[str, int]:
    """Recount every rollup (feedback and survey scores, and the theme rollup) from
    ``since`` on, or from the beginning; return the rows written per rollup."""
    rows = refresh_daily_stats(since=since)
    theme_rows = 0
    try:
        from . import theme_services
    except ImportError:  # the theme engine is optional
        theme_services = None
    if theme_services is not None and hasattr(theme_services, "refresh_daily_theme_stats"):
        days = None
        if since is not None:
            today = timezone.now().astimezone(dt.UTC).date()
            days = [since + dt.timedelta(days=n) for n in range((today - since).days + 1)]
        theme_rows = theme_services.refresh_daily_theme_stats(days=days) or 0
    return {"daily_feedback_stats": rows, "daily_theme_stats": theme_rows}
