"""/healthz/workers/ tells whether every Celery queue has a worker that answers."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import WorkerHeartbeat
from accounts.tasks import record_heartbeat_task
from config.celery import DEFAULT_BEAT_SCHEDULE
from conftest import wait_until

pytestmark = pytest.mark.django_db


def test_beat_sends_a_heartbeat_to_every_queue():
    queues = {
        entry["options"]["queue"]
        for entry in DEFAULT_BEAT_SCHEDULE.values()
        if entry["task"] == "accounts.tasks.record_heartbeat_task"
    }
    assert queues == set(settings.FOCUSLOOP_QUEUES)


def test_all_queues_fresh_is_ok_and_a_silent_queue_is_503(client):
    for queue in settings.FOCUSLOOP_QUEUES:
        record_heartbeat_task.apply(args=(queue,))
    fresh = client.get("/healthz/workers/")
    assert fresh.status_code == 200 and fresh.json()["status"] == "ok"
    WorkerHeartbeat.objects.filter(queue="mail").update(
        seen_at=timezone.now() - dt.timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE + 5)
    )
    stale = client.get("/healthz/workers/")
    assert stale.status_code == 503
    assert stale.json()["queues"]["mail"]["ok"] is False
    assert stale.json()["queues"]["analysis"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_the_heartbeat_of_the_queue_it_consumes(celery_worker):
    record_heartbeat_task.apply_async(args=("analysis",), queue="analysis")
    assert wait_until(lambda: WorkerHeartbeat.objects.filter(queue="analysis").exists())
