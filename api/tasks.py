from celery import shared_task

from . import webhooks


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def deliver_webhook_task(delivery_id: int) -> str:
    """Post one webhook delivery. Idempotent: the row is claimed before posting, and a
    delivered or failed row is left alone. Retries are scheduled by the service (backoff
    stored on the row), not by Celery, so a lost message is picked up by the sweep."""
    return webhooks.deliver_webhook(delivery_id=delivery_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def requeue_due_webhooks_task() -> int:
    """Enqueue webhook deliveries that are due but were never picked up."""
    return webhooks.requeue_due_webhooks()
