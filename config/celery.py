"""The Celery app and the whole beat schedule, in one place."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("focusloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Analyse whatever the after-commit trigger missed: rows stored while the broker or
    # the worker was down, or whose trigger was debounced away.
    "sweep-unanalysed-feedback": {
        "task": "insights.tasks.sweep_unanalysed_feedback_task",
        "schedule": 60.0,
    },
    # Re-count the last three days of the dashboard rollup (late arrivals, back-dated imports).
    "refresh-recent-daily-stats": {
        "task": "insights.tasks.refresh_recent_daily_stats_task",
        "schedule": crontab(minute="*/10"),
    },
    # Learn from ratings and staff corrections; activates the new model only if it scores
    # better than the active one on held-out feedback. Runs on the "training" queue.
    "train-sentiment-model": {
        "task": "insights.tasks.train_sentiment_model_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # After a model change, bring rows scored by an older model up to date, batch by batch.
    "rescore-outdated-feedback": {
        "task": "insights.tasks.rescore_outdated_feedback_task",
        "schedule": crontab(minute="*/5"),
    },
}
