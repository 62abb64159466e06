from celery import shared_task
from django.db import DatabaseError

from . import review_import


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,
)
def import_reviews_task(import_id: int) -> bool:
    """Store the next rows of a review import; it queues its own continuation when the
    file takes longer than one task's time budget. Safe to run twice (see the service)."""
    return review_import.run_review_import(import_id=import_id)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=3,
    soft_time_limit=120,
    time_limit=150,
)
def poll_review_source_task(source_id: int, force: bool = False) -> bool:
    """Poll one review source if it is due (or ``force``) and nobody else is polling it."""
    from . import review_sources

    return review_sources.poll_review_source(source_id=source_id, force=force).polled


@shared_task(acks_late=True, soft_time_limit=30, time_limit=60)
def poll_due_review_sources_task() -> int:
    """Beat, every minute: queue a poll for every review source that is due."""
    from . import review_sources

    return len(review_sources.poll_due_review_sources())


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def delete_abandoned_review_imports_task() -> int:
    """Beat, daily: delete review imports left at the column mapping, with their files."""
    return _every_batch(review_import.delete_abandoned_review_imports)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=600,
    time_limit=660,
)
def anonymise_expired_feedback_task() -> int:
    """Anonymise every feedback past the retention period, batch by batch."""
    from . import privacy

    return _every_batch(privacy.anonymise_expired_feedback)


def _every_batch(step) -> int:
    """Call ``step`` (one committed batch; returns its row count) until a batch is empty;
    the rows of all batches."""
    total = 0
    while batch := step():
        total += batch
    return total
