"""The beat schedule: seeded into the database without overwriting admin edits, every
periodic task declared safely, and a real worker running each insights beat task once."""

import datetime as dt

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery import DEFAULT_BEAT_SCHEDULE
from config.celery import app as celery_app
from conftest import require_service, wait_until
from feedback.tests.factories import FeedbackFactory
from insights import tasks as insights_tasks
from insights.beat import sync_default_schedule
from insights.models import AnalysisRun

INSIGHTS_BEAT_TASKS = sorted(
    entry["task"]
    for entry in DEFAULT_BEAT_SCHEDULE.values()
    if entry["task"].startswith("insights.")
)
TRACKED = {
    "insights.tasks.sweep_unanalysed_feedback_task": "sweep",
    "insights.tasks.refresh_recent_daily_stats_task": "rollup",
    "insights.tasks.evaluate_alerts_task": "alerts",
    "insights.tasks.train_sentiment_model_task": "retrain",
    "insights.tasks.rescore_outdated_feedback_task": "rescore",
    "insights.tasks.refresh_forecasts_task": "forecast",
}


def test_the_scheduler_is_the_database_one():
    assert settings.CELERY_BEAT_SCHEDULER == "insights.beat:DefaultsKeepingScheduler"
    assert celery_app.conf.beat_scheduler == settings.CELERY_BEAT_SCHEDULER


def test_schedule_covers_every_analysis_job():
    tasks = {entry["task"] for entry in DEFAULT_BEAT_SCHEDULE.values()}
    assert set(TRACKED) <= tasks
    assert "insights.tasks.discover_themes_task" in tasks
    assert "feedback.tasks.poll_due_review_sources_task" in tasks


@pytest.mark.django_db
def test_defaults_are_seeded_once_and_admin_edits_survive_a_restart():
    created = sync_default_schedule()
    assert sorted(created) == sorted(DEFAULT_BEAT_SCHEDULE)
    forecasts = PeriodicTask.objects.get(name="refresh-forecasts")
    assert forecasts.task == "insights.tasks.refresh_forecasts_task"
    assert (forecasts.crontab.hour, forecasts.crontab.minute) == ("4", "0")
    assert PeriodicTask.objects.get(name="train-sentiment-model").queue == "training"

    # An admin moves the forecasts to 06:30 and switches the review polling off.
    forecasts.crontab = CrontabSchedule.objects.create(hour="6", minute="30")
    forecasts.save()
    PeriodicTask.objects.filter(name="poll-review-sources").update(enabled=False)

    assert sync_default_schedule() == []
    forecasts.refresh_from_db()
    assert (forecasts.crontab.hour, forecasts.crontab.minute) == ("6", "30")
    assert not PeriodicTask.objects.get(name="poll-review-sources").enabled

    # An entry an admin deleted comes back at the next start (delete = reset to default).
    PeriodicTask.objects.filter(name="evaluate-alerts").delete()
    assert sync_default_schedule() == ["evaluate-alerts"]


@pytest.mark.django_db
def test_every_entry_says_in_the_admin_what_it_does_and_an_admins_words_stay():
    from config.celery import BEAT_DESCRIPTIONS

    assert all(len(BEAT_DESCRIPTIONS[name]) > 30 for name in DEFAULT_BEAT_SCHEDULE)
    assert not any("description" in entry for entry in DEFAULT_BEAT_SCHEDULE.values())
    sync_default_schedule()
    sweep = PeriodicTask.objects.get(name="sweep-unanalysed-feedback")
    assert sweep.description.startswith("Analyse whatever the after-commit trigger missed")

    # Entries seeded before descriptions existed get theirs; an admin's own text stays.
    PeriodicTask.objects.filter(name="sweep-unanalysed-feedback").update(description="")
    PeriodicTask.objects.filter(name="evaluate-alerts").update(description="Ours")
    sync_default_schedule()
    assert PeriodicTask.objects.get(name="sweep-unanalysed-feedback").description
    assert PeriodicTask.objects.get(name="evaluate-alerts").description == "Ours"


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_itself_keeps_admin_edits():
    # transaction=True: the scheduler closes the database connection as it starts.
    from insights.beat import DefaultsKeepingScheduler

    sync_default_schedule()
    PeriodicTask.objects.filter(name="evaluate-alerts").update(
        crontab=CrontabSchedule.objects.create(minute="*/30")
    )
    DefaultsKeepingScheduler(app=celery_app, lazy=False)
    entry = PeriodicTask.objects.get(name="evaluate-alerts")
    assert entry.crontab.minute == "*/30"


# Queued by the web, not by beat: the after-commit wake-up and the keyword-rule pass.
INSIGHTS_ON_DEMAND_TASKS = [
    "insights.tasks.analyse_pending_feedback_task",
    "insights.tasks.apply_keyword_rules_task",
]


@pytest.mark.parametrize("name", INSIGHTS_BEAT_TASKS + INSIGHTS_ON_DEMAND_TASKS)
def test_insights_tasks_are_safe_to_redeliver_and_retry_only_transient_errors(name):
    assert hasattr(insights_tasks, name.rsplit(".", 1)[1])  # imported, hence registered
    task = celery_app.tasks[name]
    assert task.acks_late and task.reject_on_worker_lost
    assert task.soft_time_limit and task.time_limit and task.soft_time_limit < task.time_limit
    # An integrity or data error fails the same way on every try: no retry for those.
    assert set(task.autoretry_for) == {OperationalError, InterfaceError}
    assert task.retry_backoff


def test_each_schedule_entry_is_a_known_schedule_type():
    for entry in DEFAULT_BEAT_SCHEDULE.values():
        assert isinstance(entry["schedule"], float | crontab)


# --- End to end on a real worker ------------------------------------------------------


@pytest.fixture
def worker_on_all_queues(redis_url, settings):
    from celery.contrib.testing.worker import start_worker

    require_service("Redis broker (REDIS_URL)", settings.CELERY_BROKER_URL.startswith("redis://"))
    with start_worker(
        celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30,
        queues=settings.FOCUSLOOP_QUEUES,
    ) as worker:  # fmt: skip
        yield worker


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_every_beat_task_once(postgres_required, worker_on_all_queues):
    now = dt.datetime.now(dt.UTC)
    for n in range(12):
        FeedbackFactory(
            text="The app crashes when I pay" if n % 2 else "Lovely staff, quick refund",
            received_at=now - dt.timedelta(hours=n * 3),
            rating=1 if n % 2 else 5, rating_min=1, rating_max=5,
        )  # fmt: skip

    for name in TRACKED:
        celery_app.tasks[name].delay()

    def all_finished():
        finished = AnalysisRun.objects.exclude(status="running")
        return set(finished.values_list("kind", flat=True)) >= set(TRACKED.values())

    assert wait_until(all_finished, timeout=120)
    runs = {run.kind: run for run in AnalysisRun.objects.all()}
    failed = {kind: run.error for kind, run in runs.items() if run.status != "succeeded"}
    assert failed == {}
    assert runs["sweep"].rows == 12  # every feedback row scored
    assert runs["alerts"].detail["follow_ups"] == 6  # the six 1★ comments
