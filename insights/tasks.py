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
    """Woken after feedback is committed; scores the whole backlog batch by batch.
    The rollup is recounted by the sweep, once a minute, not on every wake-up."""
    return services.analyse_all_pending(refresh_rollups=False)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def sweep_unanalysed_feedback_task() -> int:
    """Beat: analyse whatever a lost or debounced trigger left behind."""
    return services.analyse_all_pending()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def refresh_recent_daily_stats_task() -> int:
    return services.refresh_recent_daily_stats()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=1900,
)
def train_sentiment_model_task() -> int | None:
    """Nightly, on the training queue: train a candidate, activate it only if better."""
    from .model_training import train_sentiment_model

    model = train_sentiment_model()
    return model.version if model else None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def rescore_outdated_feedback_task(max_batches: int = 50) -> int:
    """Re-score rows an older model scored, a batch at a time, until none or the budget is spent."""
    from .model_training import rescore_outdated_batch

    total = 0
    for _ in range(max_batches):
        done = rescore_outdated_batch()
        if not done:
            break
        total += done
    services.refresh_dirty_days()
    return total
