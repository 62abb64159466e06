from celery import shared_task
from django.db import DatabaseError

from . import distribution, idempotency

# Transport failures are retried after 1, 2, 4, 8, 16 minutes (then left failed, shown on
# the invitations page with a "send again" button).
SEND_MAX_RETRIES = 5
SEND_RETRY_BASE_SECONDS = 60


def _countdown(retries: int) -> int:
    return min(SEND_RETRY_BASE_SECONDS * 2**retries, 3600)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=SEND_MAX_RETRIES,
    soft_time_limit=240,
    time_limit=300,
)
def send_invitations_task(self, invitation_ids: list[int]) -> dict:
    """Email the invitations among ``invitation_ids`` still pending or failed.

    Idempotent: a row already sent is skipped (see ``distribution.send_invitation``), so
    a redelivered message sends nothing twice. Only the ids whose transport failed are
    retried.
    """
    outcomes = {pk: distribution.send_invitation(invitation_id=pk) for pk in invitation_ids}
    failed = [pk for pk, outcome in outcomes.items() if outcome == distribution.FAILED]
    if failed and self.request.retries < SEND_MAX_RETRIES:
        raise self.retry(args=[failed], countdown=_countdown(self.request.retries))
    return {"sent": sum(o == distribution.SENT for o in outcomes.values()), "failed": failed}


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=SEND_MAX_RETRIES,
    soft_time_limit=240,
    time_limit=300,
)
def send_reminders_task(self, items: list[list[int]]) -> dict:
    """Send reminders; ``items`` are ``[invitation_id, reminders_sent_expected]`` pairs.

    Idempotent: a reminder already sent raised the count, so a repeated item is skipped.
    """
    outcomes = {
        pk: distribution.send_reminder(invitation_id=pk, reminders_sent=count)
        for pk, count in items
    }
    failed = [[pk, count] for pk, count in items if outcomes[pk] == distribution.FAILED]
    if failed and self.request.retries < SEND_MAX_RETRIES:
        raise self.retry(args=[failed], countdown=_countdown(self.request.retries))
    return {"sent": sum(o == distribution.SENT for o in outcomes.values()), "failed": failed}


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def requeue_stale_invitations_task() -> int:
    """Beat sweep: invitations whose send message was lost are queued again."""
    return distribution.requeue_stale_pending()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def purge_expired_idempotency_records_task() -> int:
    """Forget Idempotency-Key records past their time (clients are told keys hold 24 h)."""
    return idempotency.purge_expired()
