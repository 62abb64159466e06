"""The analysis path on real parts: Redis as the broker and a Celery worker consuming it."""

import time
import uuid

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from conftest import wait_until
from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory
from insights import triggers
from insights.tasks import sweep_unanalysed_feedback_task

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_worker_analyses_a_form_submission_after_commit(client, settings, celery_worker):
    settings.ANALYSIS_TRIGGER_ENABLED = True
    response = client.post(
        reverse("feedback:public_form"), {"text": "Brilliant support team, thank you so much!"}
    )
    assert response.status_code == 302
    feedback = Feedback.objects.get()

    assert wait_until(lambda: Feedback.objects.get(pk=feedback.pk).analysed_at is not None)
    feedback.refresh_from_db()
    assert feedback.sentiment_label == "positive"


def test_sweep_through_the_broker_analyses_rows_whose_trigger_was_lost(celery_worker):
    lost = [FeedbackFactory(text="Horrible, the invoice is wrong again") for _ in range(3)]

    sweep_unanalysed_feedback_task.delay()

    assert wait_until(lambda: not Feedback.objects.unanalysed().exists())
    assert {Feedback.objects.get(pk=f.pk).sentiment_label for f in lost} == {"negative"}


def test_submission_succeeds_fast_while_the_broker_is_down(client, settings, dead_broker):
    settings.ANALYSIS_TRIGGER_ENABLED = True
    # The process's first request pays for URL and template loading: not what is timed.
    assert client.get(reverse("feedback:public_form")).status_code == 200
    started = time.monotonic()
    response = client.post(reverse("feedback:public_form"), {"text": "Stored while Redis is down"})
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < 0.5
    assert Feedback.objects.filter(text="Stored while Redis is down", analysed_at=None).exists()
    # The wake-up cannot be delivered; it fails quietly instead of failing the customer.
    assert triggers.send_wake_up() is False

    # Once the broker is back, the periodic sweep catches up.
    assert sweep_unanalysed_feedback_task.apply().get() == 1
    assert not Feedback.objects.unanalysed().exists()


def test_tasks_survive_a_lost_worker():
    for name in ("analyse_pending_feedback_task", "sweep_unanalysed_feedback_task"):
        task = celery_app.tasks[f"insights.tasks.{name}"]
        assert task.acks_late and task.reject_on_worker_lost


def test_public_form_still_accepts_feedback_when_the_cache_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
        }
    }
    response = client.post(reverse("feedback:public_form"), {"text": "Rate limiter offline"})
    assert response.status_code == 302
    assert Feedback.objects.filter(text="Rate limiter offline").exists()


def test_web_processes_share_one_wake_up_window_on_redis(redis_url, monkeypatch):
    import redis

    # A key of its own: trigger threads of earlier tests in this process use the real one.
    monkeypatch.setattr(triggers, "WINDOW_KEY", f"test-window-{uuid.uuid4()}")
    client = redis.Redis.from_url(redis_url)
    client.delete(triggers.WINDOW_KEY)
    try:
        opened, remaining, _ = triggers.open_window(client, 300)
        assert opened and remaining == 300
        # A second web process within the window does not send its own message ...
        opened_again, remaining, _ = triggers.open_window(client, 300)
        assert not opened_again
        assert 0 < remaining <= 300
        # ... but once the window closes it may open the next one.
        time.sleep(remaining / 1000 + 0.05)
        assert triggers.open_window(client, 300)[0]
    finally:
        client.delete(triggers.WINDOW_KEY)


def test_a_process_whose_window_was_taken_sends_after_it_closes(redis_url, settings, monkeypatch):
    """The trailing edge survives sharing: a flag raised inside another process's window is
    followed by a message sent after that window, so rows committed meanwhile are covered."""
    import redis

    settings.ANALYSIS_TRIGGER_DEBOUNCE_SECONDS = 0.2
    monkeypatch.setattr(triggers, "WINDOW_KEY", f"test-window-{uuid.uuid4()}")
    client = redis.Redis.from_url(redis_url)
    client.delete(triggers.WINDOW_KEY)
    sent_at = []
    monkeypatch.setattr(triggers, "send_wake_up", lambda: sent_at.append(time.monotonic()))
    try:
        assert triggers.open_window(client, 200)[0]  # another process's window
        flagged = time.monotonic()
        triggers.wake_up_once(client)
        assert len(sent_at) == 1
        assert sent_at[0] - flagged >= 0.15
    finally:
        client.delete(triggers.WINDOW_KEY)


def test_without_redis_every_flag_sends(settings, monkeypatch):
    sent = []
    monkeypatch.setattr(triggers, "send_wake_up", lambda: sent.append(1))
    triggers.wake_up_once(None)
    assert sent == [1]
