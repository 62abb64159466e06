from celery import shared_task

from . import webhooks


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def deliver_webhook_task(delivery_id: int) -> str:
    """Post one webhook delivery (messages queued before deliveries went in batches)."""
    return webhooks.deliver_webhook(delivery_id=delivery_id)


# A batch starts no post after webhooks.BATCH_SECONDS less the timeout: these limits leave
# room for that last post (connect, send and answer each bounded by the timeout).
@shared_task(
    acks_late=True,
    soft_time_limit=webhooks.BATCH_SECONDS + 60,
    time_limit=webhooks.BATCH_SECONDS + 90,
)
def deliver_webhooks_task(delivery_ids: list[int]) -> dict[int, str]:
    """Post up to ``webhooks.DELIVERY_BATCH`` webhook deliveries, one after another.
    Idempotent: each row is claimed before its post, and a delivered or failed row is left
    alone. Retries are scheduled by the service (backoff stored on the row), not by Celery,
    so a lost message is picked up by the sweep."""
    return webhooks.deliver_webhooks(delivery_ids=delivery_ids)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def requeue_due_webhooks_task() -> int:
    """Enqueue webhook deliveries that are due but were never picked up."""
    return webhooks.requeue_due_webhooks()
