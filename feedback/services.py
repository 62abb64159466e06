"""Every change to feedback goes through here: forms, API, imports and commands alike."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from api import webhooks

from .inserts import insert_rows, new_row
from .models import Customer, Feedback, Product, Tag
from .privacy import masked_on_save


class DuplicateFeedback(ValidationError):
    """The source already delivered a feedback with this external id."""

    def __init__(self, existing: Feedback):
        self.existing = existing
        super().__init__(
            {
                "external_id": [
                    ValidationError(
                        "Feedback with this external id from this source already exists.",
                        code="duplicate",
                    )
                ]
            }
        )


def normalise_rating(
    rating: Decimal | None, rating_min: Decimal | None, rating_max: Decimal | None
) -> float | None:
    """Map a rating on its source's scale onto 0..1; None when there is no rating."""
    if rating is None:
        return None
    if rating_min is None or rating_max is None or rating_max <= rating_min:
        raise ValidationError({"rating_max": ["A rating needs a scale with max above min."]})
    if not rating_min <= rating <= rating_max:
        raise ValidationError(
            {"rating": [f"Rating must lie between {rating_min} and {rating_max}."]}
        )
    return float((rating - rating_min) / (rating_max - rating_min))


def _as_decimal(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: ["Enter a number."]}) from None
    if not result.is_finite():
        raise ValidationError({field: ["Enter a finite number."]})
    return result


# Django rebuilds an enum's .values list on every access; build_feedback runs per row.
_CHANNELS = frozenset(Feedback.Channel.values)
# Nothing is said in the future (a day's grace for a local time ahead of UTC that a source
# without a zone gives as UTC), nor before there was anything to say it with.
FUTURE_DATE_GRACE = dt.timedelta(days=1)
EARLIEST_RECEIVED_AT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def build_feedback(
    *,
    channel: str,
    text: str,
    source: str = "",
    external_id: str = "",
    rating=None,
    rating_min=None,
    rating_max=None,
    received_at: dt.datetime | None = None,
    customer: Customer | None = None,
    product: Product | None = None,
    submitter_name: str = "",
    submitter_email: str = "",
    consent: bool = False,
    consent_text: str = "",
) -> Feedback:
    """Check one piece of feedback and return it unsaved.

    Raises ``ValidationError`` with field messages on bad input.
    """
    text = (text or "").strip()
    errors: dict[str, list[str]] = {}
    if not text:
        errors["text"] = ["This field may not be blank."]
    elif len(text) > settings.FEEDBACK_TEXT_MAX_LENGTH:
        errors["text"] = [
            f"Ensure this field has no more than {settings.FEEDBACK_TEXT_MAX_LENGTH} characters."
        ]
    if "\x00" in text:
        errors["text"] = ["Text may not contain NUL characters."]
    if channel not in _CHANNELS:
        errors["channel"] = [f'"{channel}" is not a valid channel.']
    if errors:
        raise ValidationError(errors)
    text = masked_on_save(text)

    rating_d = _as_decimal(rating, "rating")
    min_d = _as_decimal(rating_min, "rating_min")
    max_d = _as_decimal(rating_max, "rating_max")
    normalised = normalise_rating(rating_d, min_d, max_d)
    if received_at is None:
        received_at = timezone.now()
    elif timezone.is_naive(received_at):
        raise ValidationError({"received_at": ["Give a time zone with the date and time."]})
    elif received_at > timezone.now() + FUTURE_DATE_GRACE:
        raise ValidationError(
            {"received_at": [f"The date {received_at:%Y-%m-%d} lies in the future."]}
        )
    elif received_at < EARLIEST_RECEIVED_AT:
        raise ValidationError({"received_at": ["Dates before 1970 are not accepted."]})

    return new_row(
        Feedback,
        channel=channel,
        source=source,
        external_id=external_id or "",
        text=text,
        rating=rating_d,
        rating_min=min_d if rating_d is not None else None,
        rating_max=max_d if rating_d is not None else None,
        rating_normalised=normalised,
        received_at=received_at,
        customer=customer,
        product=product,
        submitter_name=submitter_name,
        submitter_email=submitter_email,
        consent=consent,
        consent_text=consent_text if consent else "",
    )


def record_feedback(*, tags: Iterable[str] = (), **fields) -> Feedback:
    """Store one piece of feedback and schedule its analysis.

    Takes the fields of :func:`build_feedback` and ``tags`` (names). The row is committed
    before anything else happens; analysis is triggered after the commit and never makes
    this call fail (a missed trigger is caught by the sweep).

    Raises ``ValidationError`` with field messages on bad input, and ``DuplicateFeedback``
    when ``(source, external_id)`` was already stored. Nothing is stored in either case.
    """
    feedback = build_feedback(**fields)
    tag_names = clean_tag_names(tags)
    tag_rows: list[Tag] = []
    try:
        if tag_names or connection.in_atomic_block:
            # A savepoint inside a caller's transaction, so that a duplicate does not
            # break it; a transaction of its own when tags are written with the row.
            with transaction.atomic():
                insert_rows([feedback], prepared=True)
                if tag_names:
                    tag_rows = _get_or_create_tags(tag_names)
                    feedback.tags.set(tag_rows)
        else:
            # One INSERT in autocommit is atomic by itself: no BEGIN/COMMIT round trips.
            insert_rows([feedback], prepared=True)
    except IntegrityError:
        existing = _stored_duplicate(feedback)
        if existing is not None:
            raise DuplicateFeedback(existing) from None
        raise

    # The caller gets the row's tags without a query (the API answers with them).
    feedback._prefetched_objects_cache = {"tags": _tags_queryset(tag_rows)}
    announce_stored([feedback])
    return feedback


def store_feedback_rows(rows: list[Feedback]) -> None:
    """Store feedback checked by :func:`build_feedback` (without tags) in one statement,
    in the caller's transaction and without a savepoint of its own: all of them, or, on a
    refusal, nothing of the caller's transaction either. Analysis is triggered and
    ``feedback.created`` announced after the commit.

    Raises ``ValidationError`` (code ``duplicate``) when one of their external ids is
    already stored (the aborted transaction can no longer look the stored row up).
    """
    if not rows:
        return
    try:
        insert_rows(rows, prepared=True)
    except IntegrityError as exc:
        refuse_duplicate_external_id(exc)
        raise
    announce_stored(rows)


def refuse_duplicate_external_id(exc: IntegrityError) -> None:
    """Raise ``ValidationError`` (code ``duplicate``) if ``exc`` is the refusal of an
    external id already stored from the same source; return otherwise."""
    if "external_id" in str(exc):
        raise ValidationError(
            "Feedback with this external id from this source already exists.",
            code="duplicate",
        ) from None


def announce_stored(results) -> None:
    """After the commit: wake the analysis up, announce ``feedback.created`` for the
    stored rows among ``results``."""
    from insights.triggers import request_analysis

    transaction.on_commit(request_analysis)
    webhooks.emit_many("feedback.created", lambda: webhooks.feedback_payloads(results))


def record_feedback_batch(items: list[dict]) -> list[Feedback | ValidationError]:
    """Store many pieces of feedback at once; one result per item, in order.

    Each item holds the arguments of :func:`record_feedback`. A result is the stored
    ``Feedback`` or the ``ValidationError`` (``DuplicateFeedback`` for an external id
    already stored or repeated earlier in the batch) that kept that item out. Valid items
    are stored in one transaction with one multi-row INSERT; if another writer stores one
    of the same external ids meanwhile, the batch falls back to one savepoint per item, so
    the outcome is the same. Analysis is triggered once, after the commit.
    """
    results: list[Feedback | ValidationError] = []
    pending: list[tuple[int, Feedback, list[str]]] = []
    seen: dict[tuple[str, str], Feedback] = {}
    for item in items:
        fields = dict(item)
        tag_names = clean_tag_names(fields.pop("tags", ()) or ())
        try:
            feedback = build_feedback(**fields)
        except ValidationError as exc:
            results.append(exc)
            continue
        if feedback.external_id:
            key = (feedback.source, feedback.external_id)
            if key in seen:
                results.append(DuplicateFeedback(seen[key]))
                continue
            seen[key] = feedback
        results.append(feedback)
        pending.append((len(results) - 1, feedback, tag_names))

    if seen:
        # Every row in ``seen`` is pending: its result's index, by identity.
        index_of = {id(feedback): index for index, feedback, _ in pending}
        for existing in _stored_with_external_ids(list(seen)):
            earlier = seen[(existing.source, existing.external_id)]
            results[index_of[id(earlier)]] = DuplicateFeedback(existing)
        pending = [p for p in pending if isinstance(results[p[0]], Feedback)]

    if pending:
        try:
            with transaction.atomic():
                insert_rows([feedback for _, feedback, _ in pending])
                _set_tags_in_bulk([(feedback, names) for _, feedback, names in pending])
        except IntegrityError:
            # Someone else stored one of these external ids after the check above.
            for index, feedback, names in pending:
                feedback.pk = None
                feedback._state.adding = True
                try:
                    with transaction.atomic():
                        feedback.save(force_insert=True)
                        _set_tags_in_bulk([(feedback, names)])
                except IntegrityError:
                    existing = _stored_duplicate(feedback)
                    if existing is None:
                        raise
                    results[index] = DuplicateFeedback(existing)
        announce_stored(results)
    return results


def _tags_queryset(rows: list[Tag]):
    # Evaluated already: iterating it neither queries nor compiles SQL.
    if not rows:
        return _no_tags()
    queryset = Tag.objects.filter(pk__in=[t.pk for t in rows])
    queryset._result_cache = sorted(rows, key=lambda t: t.name)
    queryset._prefetch_done = True
    return queryset


@functools.cache
def _no_tags():
    # One per process for every row stored without tags: an evaluated, empty queryset is
    # never changed by reading it (filtering it makes a new one).
    queryset = Tag.objects.none()
    queryset._result_cache = []
    queryset._prefetch_done = True
    return queryset


def _stored_duplicate(feedback: Feedback) -> Feedback | None:
    if not feedback.external_id:
        return None
    return Feedback.objects.filter(source=feedback.source, external_id=feedback.external_id).first()


def _stored_with_external_ids(keys: list[tuple[str, str]]) -> list[Feedback]:
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found: list[Feedback] = []
    for source, ids in by_source.items():
        found.extend(
            Feedback.objects.filter(source=source, external_id__in=ids).only(
                "id", "source", "external_id"
            )
        )
    return found


def _set_tags_in_bulk(rows: list[tuple[Feedback, list[str]]]) -> None:
    names = sorted({name for _, tag_names in rows for name in tag_names})
    if not names:
        return
    by_name = {tag.name: tag for tag in _get_or_create_tags(names)}
    Through = Feedback.tags.through
    Through.objects.bulk_create(
        [
            Through(feedback_id=feedback.pk, tag_id=by_name[name].pk)
            for feedback, tag_names in rows
            for name in tag_names
        ]
    )


def clean_tag_names(tags: Iterable[str]) -> list[str]:
    """Tag names as stored: slugified, at most 60 characters, unique, sorted."""
    return sorted({slugify(t)[:60] for t in tags if t and slugify(t)})


def is_tag_name(name: str) -> bool:
    """Whether anything of ``name`` is left as a tag (a letter or digit of a-z, 0-9):
    :func:`clean_tag_names` drops the rest, so the forms and the API refuse it first."""
    return bool(clean_tag_names([name]))


def _get_or_create_tags(names: list[str]) -> list[Tag]:
    Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=names))


def update_feedback_triage(
    *,
    feedback: Feedback,
    status: str | None = None,
    assignee: AbstractBaseUser | None | type(...) = ...,
    tags: Iterable[str] | None = None,
) -> Feedback:
    """Change what staff manage on a feedback: status, assignee, tags.

    Only the given arguments change (``assignee=None`` clears the assignee). Raises
    ``ValidationError`` for an unknown status or an assignee who cannot triage.
    """
    update_fields: list[str] = []
    if status is not None:
        if status not in Feedback.Status.values:
            raise ValidationError({"status": [f'"{status}" is not a valid status.']})
        feedback.status = status
        update_fields.append("status")
    if assignee is not ...:
        # Keeping the current assignee is no new assignment (they may have left since).
        kept = assignee is not None and assignee.pk == feedback.assignee_id
        if assignee is not None and not kept and not assignee.has_perm("feedback.triage_feedback"):
            raise ValidationError({"assignee": ["This user cannot triage feedback."]})
        feedback.assignee = assignee
        update_fields.append("assignee")
    # No savepoint inside a bulk change (all or nothing anyway): its rows then share one
    # feedback.updated batch, and two queries a row less.
    with transaction.atomic(savepoint=False):
        if update_fields:
            feedback.save(update_fields=update_fields)
        if tags is not None:
            feedback.tags.set(_get_or_create_tags(clean_tag_names(tags)))
            update_fields.append("tags")
        if update_fields:
            webhooks.announce_feedback_updated(feedback, list(update_fields))
    return feedback
