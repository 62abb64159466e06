"""Analysis on demand: "Retrain now" on the sentiment models page and "Run now" on the
analysis runs page queue the beat's own tasks on their queues, through the real broker."""

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from conftest import require_service
from insights.models import AnalysisRun
from insights.runs import tracked_run

pytestmark = pytest.mark.django_db

RETRAIN_URL = reverse("insights:retrain_sentiment_model")
RUN_URL = reverse("insights:run_now")


@pytest.fixture
def broker(redis_url, settings):
    """The messages tests add to the broker's queues, read and then taken off the queues
    so that no worker started by a later test runs them."""
    import redis

    require_service("Redis broker (REDIS_URL)", settings.CELERY_BROKER_URL.startswith("redis://"))
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    before = {queue: client.lrange(queue, 0, -1) for queue in settings.FOCUSLOOP_QUEUES}
    added = []

    def new_tasks(queue: str) -> list[str]:
        fresh = [raw for raw in client.lrange(queue, 0, -1) if raw not in before[queue]]
        added.extend((queue, raw) for raw in fresh)
        return [json.loads(raw)["headers"]["task"] for raw in fresh]

    yield new_tasks
    for queue in settings.FOCUSLOOP_QUEUES:
        new_tasks(queue)
    for queue, raw in added:
        client.lrem(queue, 1, raw)


def test_manager_retrains_now_on_the_training_queue(
    client, manager, broker, django_capture_on_commit_callbacks
):
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(RETRAIN_URL, follow=True)

    assert response.redirect_chain == [(reverse("insights:sentiment_models"), 302)]
    assert "Retraining queued" in response.content.decode()
    assert len(callbacks) == 1  # queued after commit, not inside the request's transaction
    assert broker("training") == ["insights.tasks.train_sentiment_model_task"]


def test_retraining_is_refused_while_a_training_run_is_running(
    client, manager, broker, django_capture_on_commit_callbacks
):
    AnalysisRun.objects.create(kind=AnalysisRun.Kind.RETRAIN)
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = client.post(RETRAIN_URL, follow=True).content.decode()

    assert "Sentiment model training is already running" in page
    assert callbacks == [] and broker("training") == []


def test_a_training_run_whose_worker_was_lost_does_not_block_retraining(
    client, manager, django_capture_on_commit_callbacks
):
    lost = AnalysisRun.objects.create(kind=AnalysisRun.Kind.RETRAIN)
    AnalysisRun.objects.filter(pk=lost.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))
    client.force_login(manager)

    with django_capture_on_commit_callbacks() as callbacks:
        page = client.post(RETRAIN_URL, follow=True).content.decode()

    assert "Retraining queued" in page and len(callbacks) == 1


def test_a_second_click_before_a_worker_starts_the_first_does_not_queue_it_again(
    client, manager, django_capture_on_commit_callbacks
):
    client.force_login(manager)

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(RETRAIN_URL)
        page = client.post(RETRAIN_URL, follow=True).content.decode()

    assert "Sentiment model training is already queued" in page and len(callbacks) == 1

    # Once a worker has started it, a later click queues the next one.
    with tracked_run(AnalysisRun.Kind.RETRAIN):
        pass
    with django_capture_on_commit_callbacks() as callbacks:
        page = client.post(RETRAIN_URL, follow=True).content.decode()
    assert "Retraining queued" in page and len(callbacks) == 1


def test_retrain_now_per_role(client, staff_member, outsider, manager):
    assert client.post(RETRAIN_URL).status_code == 302  # anonymous: to the login page
    assert "/login/" in client.post(RETRAIN_URL)["Location"]
    for user in (staff_member, outsider):
        client.force_login(user)
        assert client.post(RETRAIN_URL).status_code == 403
    client.force_login(manager)
    assert client.get(RETRAIN_URL).status_code == 405


def test_the_models_page_offers_retrain_now_to_managers(client, manager):
    client.force_login(manager)
    page = client.get(reverse("insights:sentiment_models")).content.decode()
    assert "Retrain now" in page and RETRAIN_URL in page and "csrfmiddlewaretoken" in page


@pytest.mark.parametrize(
    ("kind", "queue", "task"),
    [
        ("sweep", "analysis", "insights.tasks.sweep_unanalysed_feedback_task"),
        ("rollup", "default", "insights.tasks.refresh_recent_daily_stats_task"),
        ("themes", "training", "insights.tasks.discover_themes_task"),
        ("forecast", "default", "insights.tasks.refresh_forecasts_task"),
        ("alerts", "default", "insights.tasks.evaluate_alerts_task"),
    ],
)
def test_manager_runs_a_beat_task_now_on_its_queue(
    client, manager, broker, django_capture_on_commit_callbacks, kind, queue, task
):
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUN_URL, {"kind": kind}, follow=True)

    waiting_page = f"{reverse('insights:runs')}?queued={kind}&after=0"
    assert response.redirect_chain == [(waiting_page, 302)]
    label = AnalysisRun.Kind(kind).label
    assert f"{label} queued" in response.content.decode()
    assert broker(queue) == [task]


def test_run_now_is_refused_while_that_analysis_is_running(
    client, manager, django_capture_on_commit_callbacks
):
    AnalysisRun.objects.create(kind=AnalysisRun.Kind.FORECAST)
    client.force_login(manager)

    with django_capture_on_commit_callbacks() as callbacks:
        page = client.post(RUN_URL, {"kind": "forecast"}, follow=True)

    assert "Forecasts is already running" in page.content.decode() and callbacks == []


def test_a_sweep_killed_at_its_time_limit_does_not_block_run_now_for_an_hour(
    client, manager, django_capture_on_commit_callbacks
):
    killed = AnalysisRun.objects.create(kind=AnalysisRun.Kind.SWEEP)
    AnalysisRun.objects.filter(pk=killed.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=15)
    )
    client.force_login(manager)

    with django_capture_on_commit_callbacks() as callbacks:
        page = client.post(RUN_URL, {"kind": "sweep"}, follow=True).content.decode()

    assert "Sweep unanalysed feedback queued" in page and len(callbacks) == 1


def test_run_now_per_role(client, staff_member, manager):
    assert client.post(RUN_URL, {"kind": "forecast"}).status_code == 302
    assert "/login/" in client.post(RUN_URL, {"kind": "forecast"})["Location"]
    client.force_login(staff_member)
    assert client.post(RUN_URL, {"kind": "forecast"}).status_code == 403
    client.force_login(manager)
    assert client.get(RUN_URL).status_code == 405


@pytest.mark.parametrize("kind", ["rescore", "nothing", ""])
def test_run_now_refuses_analyses_not_run_on_demand(
    client, manager, django_capture_on_commit_callbacks, kind
):
    client.force_login(manager)

    with django_capture_on_commit_callbacks() as callbacks:
        page = client.post(RUN_URL, {"kind": kind}, follow=True).content.decode()

    assert "This analysis cannot be started by hand." in page and callbacks == []


def test_the_runs_page_offers_run_now_to_managers(client, manager):
    client.force_login(manager)
    page = client.get(reverse("insights:runs")).content.decode()
    buttons = re.findall(r'<button type="submit" name="kind" value="(\w+)">', page)
    assert buttons == ["sweep", "rollup", "themes", "forecast", "alerts"]
    assert f'action="{RUN_URL}"' in page


@pytest.mark.parametrize("url", [RETRAIN_URL, RUN_URL], ids=["retrain", "run"])
def test_starting_analysis_needs_the_csrf_token(manager, url):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)
    assert strict.post(url, {"kind": "sweep"}).status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", [RETRAIN_URL, RUN_URL], ids=["retrain", "run"])
def test_starting_analysis_while_the_broker_is_down_says_so_instead_of_failing(
    client, manager, dead_broker, url
):
    client.force_login(manager)

    response = client.post(url, {"kind": "alerts"}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "could not be queued: the task queue is unreachable" in page
    assert "queued;" not in page and "Retraining queued" not in page
    # Not remembered as queued: trying again tries the broker again.
    page = client.post(url, {"kind": "alerts"}, follow=True).content.decode()
    assert "could not be queued" in page and "already queued" not in page
