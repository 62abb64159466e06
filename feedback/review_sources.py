"""Review sources: feeds polled on a schedule, each item stored once as feedback."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from . import review_feeds
from .models import Feedback, ReviewSource
from .services import DuplicateFeedback, record_feedback

logger = logging.getLogger(__name__)

SOURCE_FIELDS = (
    "name",
    "slug",
    "kind",
    "url",
    "product",
    "field_mapping",
    "rating_min",
    "rating_max",
    "interval_minutes",
    "active",
)
# A claim older than this belongs to a worker that died mid-poll.
STALE_CLAIM = dt.timedelta(minutes=10)
# How many refused items a source keeps with their reason (all are counted).
SKIP_REASONS_KEPT = 5


def _setting(name: str, default):
    return getattr(settings, name, default)


def fetch_timeout() -> float:
    return _setting("REVIEW_SOURCE_TIMEOUT_SECONDS", 15.0)


def max_feed_bytes() -> int:
    return _setting("REVIEW_SOURCE_MAX_BYTES", 5 * 1024 * 1024)


def allow_private_hosts() -> bool:
    """Off in production: feeds on loopback or private addresses are refused (SSRF)."""
    return bool(_setting("REVIEW_SOURCE_ALLOW_PRIVATE_HOSTS", False))


def max_backoff() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("REVIEW_SOURCE_MAX_BACKOFF_MINUTES", 24 * 60))


def backoff_delay(*, interval_minutes: int, failures: int) -> dt.timedelta:
    """The wait before the next try after ``failures`` failures in a row: the interval
    doubled per failure, capped at ``REVIEW_SOURCE_MAX_BACKOFF_MINUTES`` (a day)."""
    cap = max_backoff()
    if failures <= 0:
        return dt.timedelta(minutes=interval_minutes)
    # Capped before multiplying so a long failure streak cannot overflow timedelta.
    exponent = min(failures, 32)
    return min(
        dt.timedelta(minutes=interval_minutes * 2**exponent),
        max(cap, dt.timedelta(minutes=interval_minutes)),
    )


def _unique_slug(name: str, exclude_pk: int | None) -> str:
    base = slugify(name)[:90] or "source"
    slug, n = base, 2
    while ReviewSource.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def save_review_source(*, source: ReviewSource | None = None, **values) -> ReviewSource:
    """Create a source (``source=None``) or change the given fields of one.

    A new source is due at once. The slug (the feedback's ``source``) is derived from the
    name when not given and never changes afterwards, so dedupe keeps working. Raises
    ``ValidationError`` with field messages.
    """
    unknown = set(values) - set(SOURCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown review source fields: {sorted(unknown)}")
    is_new = source is None
    source = source or ReviewSource()
    if not is_new:
        values.pop("slug", None)
    for name, value in values.items():
        setattr(source, name, value)
    if not (source.url or "").lower().startswith(review_feeds.ALLOWED_SCHEMES):
        raise ValidationError({"url": ["Enter an http:// or https:// URL."]})
    mapping = source.field_mapping or {}
    if not isinstance(mapping, dict) or any(
        key not in review_feeds.MAPPABLE_FIELDS or not isinstance(value, str)
        for key, value in mapping.items()
    ):
        raise ValidationError(
            {
                "field_mapping": [
                    "Give an object of field → path; fields: "
                    + ", ".join(review_feeds.MAPPABLE_FIELDS)
                    + "."
                ]
            }
        )
    source.field_mapping = {k: v.strip() for k, v in mapping.items() if v.strip()}
    if is_new:
        source.slug = slugify(source.slug or "")[:100] or _unique_slug(source.name, None)
        source.next_poll_at = timezone.now()
    if (
        source.rating_min is not None
        and source.rating_max is not None
        and source.rating_max <= source.rating_min
    ):
        raise ValidationError({"rating_max": ["The highest rating must be above the lowest."]})
    source.full_clean()
    source.save()
    return source


def request_poll(*, source: ReviewSource) -> None:
    """Make the source due now and ask a worker to poll it after the commit.

    When the broker cannot be reached the source stays due, and the beat sweep polls it
    within a minute.
    """
    now = timezone.now()
    ReviewSource.objects.filter(pk=source.pk).update(next_poll_at=now)
    source.next_poll_at = now

    def enqueue():
        from .tasks import poll_review_source_task

        try:
            poll_review_source_task.apply_async((source.pk,), {"force": True}, retry=False)
        except Exception:  # the broker is down: the sweep will pick the source up
            logger.warning("poll of review source %s not queued; the sweep will do it", source.pk)

    transaction.on_commit(enqueue)


def due_source_ids(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        ReviewSource.objects.filter(active=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .order_by("next_poll_at", "id")
        .values_list("id", flat=True)
    )


def _claim(source_id: int, now: dt.datetime) -> bool:
    """Take the per-source lock: one conditional UPDATE, so two workers never both win."""
    claimed = ReviewSource.objects.filter(
        Q(polling_since__isnull=True) | Q(polling_since__lt=now - STALE_CLAIM),
        pk=source_id,
    ).update(polling_since=now)
    return claimed == 1


@dataclass(frozen=True)
class PollResult:
    polled: bool
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    error: str = ""


def _store(
    source: ReviewSource, items: list[review_feeds.FeedItem]
) -> tuple[int, int, int, list[dict]]:
    """Store the items one by one; returns the counts (imported, duplicates, skipped) and
    the first ``SKIP_REASONS_KEPT`` skipped items with their reason."""
    imported = duplicates = skipped = 0
    reasons: list[dict] = []
    for item in items:
        has_rating = item.rating is not None
        try:
            record_feedback(
                channel=Feedback.Channel.REVIEW,
                source=source.slug,
                external_id=item.external_id,
                text=item.text,
                rating=item.rating,
                rating_min=source.rating_min if has_rating else None,
                rating_max=source.rating_max if has_rating else None,
                received_at=item.published,
                product=source.product,
                submitter_name=item.author,
            )
        except DuplicateFeedback:
            duplicates += 1
        except ValidationError as exc:
            skipped += 1
            reason = " ".join(exc.messages)
            if len(reasons) < SKIP_REASONS_KEPT:
                reasons.append({"item": item.external_id, "reason": reason[:500]})
            logger.info(
                "review source %s: item %s skipped: %s", source.pk, item.external_id, reason
            )
        else:
            imported += 1
    return imported, duplicates, skipped, reasons


def poll_review_source(*, source_id: int, force: bool = False) -> PollResult:
    """Fetch the source's feed and store its new items as feedback (channel review).

    Holds the source's claim (``polling_since``) while it runs and returns
    ``PollResult(polled=False)`` when another worker holds it, or when the source is not
    due (unless ``force``). Each item is stored on its own, so a failure half-way keeps
    what was stored, and a re-poll skips items already stored (source + external id). A
    fetch or parse failure is recorded (``last_error``, ``consecutive_failures``) and
    pushes ``next_poll_at`` back exponentially; it never raises. Items refused by
    ``record_feedback`` are counted on the source (``items_skipped_last_poll``) with the
    first few reasons (``skip_reasons``), replaced by each poll that reads the feed.
    """
    now = timezone.now()
    if not _claim(source_id, now):
        return PollResult(polled=False)
    try:
        source = ReviewSource.objects.select_related("product").get(pk=source_id)
        if not force and (not source.active or (source.next_poll_at and source.next_poll_at > now)):
            return PollResult(polled=False)
        try:
            body = review_feeds.fetch(
                source.url,
                timeout=fetch_timeout(),
                max_bytes=max_feed_bytes(),
                allow_private=allow_private_hosts(),
            )
            items = review_feeds.parse(source.kind, body, source.field_mapping)
        except review_feeds.FeedError as exc:
            failures = source.consecutive_failures + 1
            finished = timezone.now()
            ReviewSource.objects.filter(pk=source_id).update(
                last_polled_at=finished,
                last_error=str(exc)[:2000],
                consecutive_failures=failures,
                next_poll_at=finished
                + backoff_delay(interval_minutes=source.interval_minutes, failures=failures),
            )
            logger.warning("review source %s failed (%s in a row): %s", source_id, failures, exc)
            return PollResult(polled=True, error=str(exc))
        imported, duplicates, skipped, reasons = _store(source, items)
        finished = timezone.now()
        ReviewSource.objects.filter(pk=source_id).update(
            last_polled_at=finished,
            last_success_at=finished,
            last_error="",
            consecutive_failures=0,
            next_poll_at=finished + dt.timedelta(minutes=source.interval_minutes),
            items_imported=F("items_imported") + imported,
            items_skipped_last_poll=skipped,
            skip_reasons=reasons,
        )
        return PollResult(polled=True, imported=imported, duplicates=duplicates, skipped=skipped)
    finally:
        ReviewSource.objects.filter(pk=source_id, polling_since=now).update(polling_since=None)


def poll_due_review_sources() -> list[int]:
    """Queue one poll task per due source; returns their ids. The claim in
    ``poll_review_source`` keeps a source that is queued twice from being polled twice."""
    from .tasks import poll_review_source_task

    ids = due_source_ids()
    for source_id in ids:
        poll_review_source_task.apply_async((source_id,), retry=False)
    return ids
