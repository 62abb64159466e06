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
