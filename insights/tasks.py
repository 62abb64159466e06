from celery import shared_task
from django.db import DatabaseError

from . import services


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
def analyse_pending_feedback_task() -> int:
    """Woken after feedback is committed; scores the whole backlog batch by batch."""
    return services.analyse_all_pending()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def sweep_unanalysed_feedback_task() -> int:
    """Beat: analyse whatever a lost or debounced trigger left behind."""
    return services.analyse_all_pending()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def refresh_recent_daily_stats_task() -> int:
    return services.refresh_recent_daily_stats()
