"""Online review import: upload, column mapping, then a Celery task stores the rows.

Every front door (the HTML pages, the API, the task) goes through these functions, and
every batch of rows goes through ``feedback.services.record_feedback_batch``, which checks
each row as ``record_feedback`` does: an imported review is validated exactly like one
from the form or the API, and a batch is stored with one multi-row INSERT.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from itertools import islice

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import DatabaseError, transaction
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.text import slugify

from .. import services as feedback_services
from ..models import Feedback, Product, ReviewImport, ReviewImportError
from ..services import record_feedback_batch
from . import reading
from .values import (
    MAPPABLE_FIELDS,
    RATING_SCALES,
    clean_rating,
    content_key,
    detect_date_order,
    detect_rating_scale,
    guess_mapping,
    parse_review_date,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = ("csv", "json", "txt")
# Rows stored per transaction; the import's counters are committed with them.
IMPORT_BATCH_SIZE = 1000
# Skipped rows listed per import; the counters keep counting past it.
MAX_LISTED_ERRORS = 10_000
# A task stops starting batches after this long and queues its continuation, so it
# stays inside its soft time limit (240 s) however big the file.
TASK_TIME_BUDGET_SECONDS = 180
EXTERNAL_ID_MAX_LENGTH = Feedback._meta.get_field("external_id").max_length
SUBMITTER_NAME_MAX_LENGTH = Feedback._meta.get_field("submitter_name").max_length
SOURCE_MAX_LENGTH = ReviewImport._meta.get_field("source").max_length
# Uploads left at the column mapping longer than this are deleted with their file.
DEFAULT_ABANDONED_DAYS = 7
# Abandoned imports deleted per transaction.
ABANDONED_BATCH_SIZE = 500


def max_upload_bytes() -> int:
    return int(getattr(settings, "REVIEW_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def import_storage() -> FileSystemStorage:
    location = getattr(settings, "REVIEW_IMPORT_DIR", None) or settings.VAR_DIR / "imports"
    return FileSystemStorage(location=location)


# --- Upload and mapping ---------------------------------------------------------------


def create_review_import(*, upload, uploaded_by=None, api_key=None) -> ReviewImport:
    """Check an uploaded export, store it under a generated name and read its columns.

    The import then waits for its column mapping (``start_review_import``). Raises
    ``ValidationError({"file": [...]})`` for a file that is too big, has another extension,
    or is not a CSV or JSON export we can read. Nothing is stored in that case.
    """
    original_name = os.path.basename((upload.name or "").replace("\\", "/"))[:255]
    extension = original_name.rsplit(".", 1)[-1].lower() if "." in original_name else ""
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationError(
            {"file": ["Upload a .csv, .json or .txt export."]}, code="invalid_extension"
        )
    limit = max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError({"file": [_too_big(limit)]}, code="too_big")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError({"file": [_too_big(limit)]}, code="too_big")
    try:
        facts = reading.inspect(data, original_name)
    except reading.UnreadableFile as exc:
        raise ValidationError({"file": [str(exc)]}, code="unreadable") from None

    storage = import_storage()
    stored_name = storage.save(f"{uuid.uuid4().hex}.{facts.file_format}", ContentFile(data))
    try:
        return ReviewImport.objects.create(
            uploaded_by=uploaded_by,
            uploaded_with_key=api_key,
            original_name=original_name,
            stored_name=stored_name,
            size_bytes=len(data),
            file_format=facts.file_format,
            encoding=facts.encoding,
            csv_dialect=facts.csv_dialect,
            columns=facts.columns,
            preview_rows=facts.preview_rows,
            column_profiles=facts.column_profiles,
            rows_total=facts.rows_total,
        )
    except BaseException:
        storage.delete(stored_name)
        raise


def _too_big(limit: int) -> str:
    return f"The file is larger than {limit // (1024 * 1024)} MB. Split it and upload the parts."


def start_review_import(
    *,
    review_import: ReviewImport,
    source: str,
    mapping: dict[str, str | None],
    product: Product | None = None,
    rating_scale: str = "auto",
    date_order: str = "auto",
) -> ReviewImport:
    """Fix the column mapping of an uploaded import and queue its task after commit.

    ``mapping`` maps the fields of ``MAPPABLE_FIELDS`` to column names; ``text`` is
    required. ``product`` is one product for every row (instead of a product column).
    ``rating_scale`` is a key of ``RATING_SCALES`` or "auto" (from the values of the
    rating column); ``date_order`` is "dmy", "mdy" or "auto" (from the dates; day first
    when they do not tell). Raises ``ValidationError`` keyed by ``source``,
    ``<field>_column``, ``product``, ``rating_scale`` and ``date_order``.
    """
    errors: dict[str, list[str]] = {}
    # A slug, as a review source's feedback carries: "Google Reviews" is google-reviews
    # whether its reviews come from a feed or a file, one source with one set of keys.
    source = slugify(source or "")
    if not source:
        errors["source"] = [
            "Name the source of these reviews in letters or digits, e.g. google or trustpilot."
        ]
    elif len(source) > SOURCE_MAX_LENGTH:
        errors["source"] = [f"Ensure this field has no more than {SOURCE_MAX_LENGTH} characters."]
    chosen = {name: column for name, column in mapping.items() if column}
    for name, column in chosen.items():
        if name not in MAPPABLE_FIELDS:
            errors[f"{name}_column"] = [f"“{name}” is not a field a column can feed."]
        elif column not in review_import.columns:
            errors[f"{name}_column"] = [f"The file has no column “{column}”."]
    if "text" not in chosen:
        errors["text_column"] = ["Choose the column that holds the review text."]
    elif chosen.get("title") == chosen["text"]:
        errors["title_column"] = ["The title needs a column of its own."]
    if chosen.get("product") and product is not None:
        errors["product"] = ["Choose a product column or one product for the file, not both."]

    scale = None
    if "rating" in chosen and "rating_column" not in errors:
        profile = review_import.column_profiles.get(chosen["rating"])
        scale = detect_rating_scale(profile) if rating_scale == "auto" else rating_scale
        if scale is None:
            errors["rating_scale"] = ["The rating scale cannot be told from the file; choose it."]
        elif scale not in RATING_SCALES:
            errors["rating_scale"] = [f"“{rating_scale}” is not a rating scale."]
    if date_order == "auto":
        profile = review_import.column_profiles.get(chosen.get("date", ""))
        date_order = detect_date_order(profile) or ReviewImport.DateOrder.DMY
    elif date_order not in ReviewImport.DateOrder.values:
        errors["date_order"] = [f"“{date_order}” is not a date order."]
    if errors:
        raise ValidationError(errors)

    low, high = RATING_SCALES[scale] if scale else (None, None)
    with transaction.atomic():
        started = ReviewImport.objects.filter(
            pk=review_import.pk, status=ReviewImport.Status.MAPPING
        ).update(
            status=ReviewImport.Status.QUEUED,
            source=source,
            mapping=chosen,
            product=product,
            rating_min=low,
            rating_max=high,
            date_order=date_order,
        )
        if not started:
            raise ValidationError("This import has already been started.", code="started")
        transaction.on_commit(partial(_enqueue, review_import.pk))
    review_import.refresh_from_db()
    return review_import


def import_reviews_from_upload(
    *, upload, source: str, mapping: dict[str, str | None] | None = None, uploaded_by=None,
    api_key=None, **options,
) -> ReviewImport:
    """Upload and start in one go (the API): the mapping defaults to the guessed one.

    Fields given in ``mapping`` replace the guess (``None`` or "" unmaps one). Raises
    what ``create_review_import`` and ``start_review_import`` raise; then nothing is kept.
    """
    review_import = create_review_import(upload=upload, uploaded_by=uploaded_by, api_key=api_key)
    chosen = guess_mapping(review_import.columns, review_import.column_profiles)
    chosen.update(mapping or {})
    try:
        return start_review_import(
            review_import=review_import, source=source, mapping=chosen, **options
        )
    except BaseException:
        delete_review_import(review_import=review_import)
        raise


def resume_review_import(*, review_import: ReviewImport) -> ReviewImport:
    """Queue an import again after a failure or a lost worker; it carries on where the
    last committed batch ended. Raises ``ValidationError`` for an unmapped or finished one.
    """
    if review_import.status == ReviewImport.Status.MAPPING:
        raise ValidationError("Map the columns first.", code="unmapped")
    if review_import.status == ReviewImport.Status.DONE:
        raise ValidationError("This import is complete.", code="done")
    with transaction.atomic():
        ReviewImport.objects.filter(
            pk=review_import.pk, status=ReviewImport.Status.FAILED
        ).update(status=ReviewImport.Status.QUEUED, failure_reason="", finished_at=None)
        transaction.on_commit(partial(_enqueue, review_import.pk))
    review_import.refresh_from_db()
    return review_import


def delete_review_import(*, review_import: ReviewImport) -> None:
    """Forget an import and its file; feedback it stored stays."""
    import_storage().delete(review_import.stored_name)
    review_import.delete()


def abandoned_after() -> dt.timedelta:
    days = int(getattr(settings, "REVIEW_IMPORT_ABANDONED_DAYS", DEFAULT_ABANDONED_DAYS))
    if days < 1:
        raise ValueError(f"REVIEW_IMPORT_ABANDONED_DAYS must be at least 1, not {days}")
    return dt.timedelta(days=days)


def delete_abandoned_review_imports() -> int:
    """Delete up to ``ABANDONED_BATCH_SIZE`` imports still waiting for their column mapping
    ``REVIEW_IMPORT_ABANDONED_DAYS`` (7) days after the upload, and their stored files
    after commit; return how many. Call again while it returns a full batch.

    The rows are locked first and those being mapped right now skipped: an import that
    ``start_review_import`` queues meanwhile is never deleted.
    """
    cutoff = timezone.now() - abandoned_after()
    with transaction.atomic():
        abandoned = list(
            ReviewImport.objects.select_for_update(skip_locked=True)
            .filter(status=ReviewImport.Status.MAPPING, created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", "stored_name")[:ABANDONED_BATCH_SIZE]
        )
        if not abandoned:
            return 0
        ReviewImport.objects.filter(pk__in=[pk for pk, _ in abandoned]).delete()
        transaction.on_commit(partial(_delete_files, [name for _, name in abandoned]))
    return len(abandoned)


def _delete_files(names: list[str]) -> None:
    storage = import_storage()
    for name in names:
        storage.delete(name)


def _enqueue(import_id: int) -> None:
    from ..tasks import import_reviews_task

    try:
        import_reviews_task.apply_async((import_id,), retry=False)
    except Exception:  # the broker is outside our control; the page offers "Resume"
        logger.warning("review import %s not queued; resume it from its page", import_id, exc_info=True)


# --- The import itself ----------------------------------------------------------------


def run_review_import(*, import_id: int, time_budget: float | None = None) -> bool:
    """Store the rows of a queued or running import; True once nothing is left to do.

    Each batch commits its feedback together with the import's counters while holding
    the import's row lock, and starts at ``rows_processed``: a re-run after a crash or a
    redelivered message (or two runs at once) carries on without storing a row twice.
    After ``time_budget`` seconds (default ``TASK_TIME_BUDGET_SECONDS``) it queues a
    continuation and returns False. A file that cannot be read marks the import failed;
    a database error leaves it running for the task's retry.
    """
    claimed = ReviewImport.objects.filter(
        pk=import_id, status__in=[ReviewImport.Status.QUEUED, ReviewImport.Status.RUNNING]
    ).update(status=ReviewImport.Status.RUNNING, started_at=Coalesce("started_at", Now()))
    if not claimed:
        return True  # done, failed, not mapped yet or deleted: nothing to do
    review_import = ReviewImport.objects.select_related("product").get(pk=import_id)
    if time_budget is None:
        time_budget = getattr(settings, "REVIEW_IMPORT_TASK_SECONDS", TASK_TIME_BUDGET_SECONDS)
    deadline = time.monotonic() + time_budget
    try:
        with import_storage().open(review_import.stored_name, "rb") as binary:
            _, records = reading.open_records(
                binary,
                file_format=review_import.file_format,
                encoding=review_import.encoding,
                csv_dialect=review_import.csv_dialect,
            )
            build = RowArguments(review_import)
            position = 0
            while True:
                finished, position = _import_next_batch(import_id, records, position, build)
                if finished:
                    return True
                if time.monotonic() >= deadline:
                    _enqueue(import_id)
                    return False
    except (DatabaseError, SoftTimeLimitExceeded):
        raise
    except reading.UnreadableFile as exc:
        _fail(import_id, str(exc))
    except OSError as exc:
        _fail(import_id, f"The uploaded file cannot be read: {exc.strerror or exc}.")
    except Exception as exc:
        _fail(import_id, f"Unexpected error: {exc.__class__.__name__}.")
        raise
    return True


def _fail(import_id: int, reason: str) -> None:
    ReviewImport.objects.filter(pk=import_id).update(
        status=ReviewImport.Status.FAILED, failure_reason=reason, finished_at=timezone.now()
    )


def _import_next_batch(
    import_id: int, records: Iterator[reading.Record], position: int, build: RowArguments
) -> tuple[bool, int]:
    with transaction.atomic():
        locked = ReviewImport.objects.select_for_update().get(pk=import_id)
        if locked.status != ReviewImport.Status.RUNNING:
            return True, position
        if locked.rows_processed > position:  # another run got further: skip what it stored
            for _ in islice(records, locked.rows_processed - position):
                pass
            position = locked.rows_processed
        batch = list(islice(records, IMPORT_BATCH_SIZE))
        if not batch:
            locked.status = ReviewImport.Status.DONE
            locked.finished_at = timezone.now()
            locked.save(update_fields=["status", "finished_at"])
            return True, position

        refused: list[tuple[reading.Record, ValidationError]] = []
        buildable: list[tuple[reading.Record, dict]] = []
        for record in batch:
            try:
                buildable.append((record, build(record)))
            except ValidationError as exc:
                refused.append((record, exc))
        outcomes = record_feedback_batch([arguments for _, arguments in buildable])
        imported = duplicates = 0
        for (record, _), outcome in zip(buildable, outcomes, strict=True):
            if isinstance(outcome, feedback_services.DuplicateFeedback):
                duplicates += 1
            elif isinstance(outcome, ValidationError):
                refused.append((record, outcome))
            else:
                imported += 1

        room = max(0, MAX_LISTED_ERRORS - locked.rows_skipped)
        refused.sort(key=lambda item: item[0].line)
        ReviewImportError.objects.bulk_create(
            [
                ReviewImportError(
                    review_import_id=import_id,
                    line=record.line,
                    reason=build.reason(exc),
                    excerpt=build.excerpt(record),
                    values=record.values or {},
                )
                for record, exc in refused[:room]
            ],
            ignore_conflicts=True,
        )
        locked.rows_processed += len(batch)
        locked.rows_imported += imported
        locked.rows_duplicate += duplicates
        locked.rows_skipped += len(refused)
        locked.save(
            update_fields=["rows_processed", "rows_imported", "rows_duplicate", "rows_skipped"]
        )
    return False, position + len(batch)


class RowArguments:
    """Turns a record of an import into ``record_feedback`` arguments.

    Raises ``ValidationError`` for what only the import knows about: a row of the wrong
    width, a date it cannot read, a product it cannot find, an id too long to store (a date
    in the future is refused by ``record_feedback``, as for every channel).
    """

    def __init__(self, review_import: ReviewImport):
        self.mapping: dict[str, str] = review_import.mapping
        self.source = review_import.source
        self.date_order = review_import.date_order
        self.product = review_import.product
        self.rating_min = _plain(review_import.rating_min)
        self.rating_max = _plain(review_import.rating_max)
        self.products: dict[str, Product] = {}
        if "product" in self.mapping:
            for product in Product.objects.all():
                self.products[product.slug.lower()] = product
                self.products.setdefault(product.name.lower(), product)

    def __call__(self, record: reading.Record) -> dict:
        if record.values is None:
            raise ValidationError(record.problem)
        errors: dict[str, list[str]] = {}
        text = "\n\n".join(
            part for part in (self._value(record, "title"), self._value(record, "text")) if part
        )
        try:
            received_at = parse_review_date(self._value(record, "date"), self.date_order)
        except ValueError as exc:
            errors["date"] = [str(exc)]
            received_at = None
        author = " ".join(self._value(record, "author").split())[:SUBMITTER_NAME_MAX_LENGTH]
        product = self.product
        product_name = self._value(record, "product")
        if product_name:
            product = self.products.get(product_name.lower())
            if product is None:
                errors["product"] = [f"No product is named “{product_name[:60]}”."]
        external_id = self._value(record, "external_id")
        if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
            errors["external_id"] = [f"Longer than {EXTERNAL_ID_MAX_LENGTH} characters."]
        if errors:
            raise ValidationError(errors)
        rating = clean_rating(self._value(record, "rating"))
        return {
            "channel": Feedback.Channel.REVIEW,
            "source": self.source,
            "external_id": external_id
            or content_key(source=self.source, text=text, received_at=received_at, author=author),
            "text": text,
            "rating": rating or None,
            "rating_min": self.rating_min,
            "rating_max": self.rating_max,
            "received_at": received_at,
            "product": product,
            "submitter_name": author,
        }

    def _value(self, record: reading.Record, field_name: str) -> str:
        column = self.mapping.get(field_name)
        return record.values[column].strip() if column else ""

    def reason(self, exc: ValidationError) -> str:
        """The refusal as one line, naming the file's column rather than our field."""
        if not hasattr(exc, "error_dict"):
            return " ".join(exc.messages)
        parts = []
        for name, messages in exc.message_dict.items():
            field_name = {"received_at": "date", "submitter_name": "author"}.get(name, name)
            column = self.mapping.get(field_name)
            label = f"{column} ({field_name})" if column and column != field_name else field_name
            if name == NON_FIELD_ERRORS:
                label = "row"
            parts.append(f"{label}: {' '.join(messages)}")
        return "; ".join(parts)

    def excerpt(self, record: reading.Record) -> str:
        if record.values is None:
            return ""
        return " ".join(self._value(record, "text").split())[:200]



def _plain(value: Decimal | None) -> str | None:
    """1.00 → "1": ``record_feedback``'s messages then read "between 1 and 5"."""
    if value is None:
        return None
    return f"{value.normalize():f}"
