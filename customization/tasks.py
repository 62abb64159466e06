"""Celery tasks of the customization backlog: each calls one service and is safe to re-run.

Retries with back-off on transient database errors only (connection lost, server
restarting, lock timeouts); bad data fails the run.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import segment_services

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
RETRYING = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**RETRYING, soft_time_limit=240, time_limit=300)
def refresh_all_segments_task() -> int:
    """Beat, hourly: re-materialise every rule segment, recount the others, and bring
    the value at stake of open requests up to date. Idempotent: the membership is
    replaced by what the rules match now, the values by what the customers are worth."""
    return segment_services.refresh_all_segments()


@shared_task(**RETRYING, soft_time_limit=900, time_limit=960)
def suggest_segments_task() -> int:
    """Beat, weekly: cluster customers into suggested segments; replaces only the pending
    suggestions, so a re-run leaves accepted and discarded ones as they are."""
    return len(segment_services.suggest_segments())
