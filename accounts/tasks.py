"""Operations tasks: the workers' heartbeat."""

from celery import shared_task
from django.utils import timezone


@shared_task(bind=True, ignore_result=True, soft_time_limit=20, time_limit=30)
def record_heartbeat_task(self, queue: str) -> None:
    """Run by whichever worker consumes ``queue`` (beat routes one per queue)."""
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        queue=queue,
        defaults={"seen_at": timezone.now(), "hostname": self.request.hostname or ""},
    )
