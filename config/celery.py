"""The Celery app and the whole default beat schedule, in one place.

The schedule runs from the database (django-celery-beat, editable in the admin under
"Periodic tasks"). ``DEFAULT_BEAT_SCHEDULE`` below is what a new installation starts
with: when beat starts, entries missing from the database are created from it, and
entries already there are left exactly as an admin edited them (disabled, re-timed,
re-queued). Tasks are named by string, so an entry whose task is not deployed yet does
not break the import; beat logs it and the worker rejects it.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("focusloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each entry says what it does in its "description", which the admin's "Periodic tasks"
# shows beside it; the descriptions are taken out below, before Celery reads the entries.
DEFAULT_BEAT_SCHEDULE = {
    "sweep-unanalysed-feedback": {
        "description": (
            "Analyse whatever the after-commit trigger missed: rows stored while the broker "
            "or the worker was down, or whose trigger was debounced away. Also recounts the "
            "rollup days that analysis marked dirty."
        ),
        "task": "insights.tasks.sweep_unanalysed_feedback_task",
        "schedule": 60.0,
    },
    "refresh-recent-daily-stats": {
        "description": (
            "Re-count the last three days of the dashboard rollup (late arrivals, back-dated "
            "imports, survey answers whose day was not marked dirty)."
        ),
        "task": "insights.tasks.refresh_recent_daily_stats_task",
        "schedule": crontab(minute="*/10"),
    },
    "evaluate-alerts": {
        "description": (
            "Evaluate the managers' alert rules and the built-ins: sentiment drop, emerging "
            "themes, and follow-ups for detractor comments. A still-true condition updates "
            "its open alert instead of raising a new one."
        ),
        "task": "insights.tasks.evaluate_alerts_task",
        "schedule": crontab(minute="*/5"),
    },
    "train-sentiment-model": {
        "description": (
            "Learn from ratings and staff corrections; activates the new model only if it "
            "scores better than the active one on held-out feedback. Runs on the “training” "
            "queue."
        ),
        "task": "insights.tasks.train_sentiment_model_task",
        "schedule": crontab(hour=2, minute=30),
        "options": {"queue": "training"},
    },
    "rescore-outdated-feedback": {
        "description": (
            "After a model change, bring rows scored by an older model up to date, batch by batch."
        ),
        "task": "insights.tasks.rescore_outdated_feedback_task",
        "schedule": crontab(minute="*/5"),
    },
    "discover-themes": {
        "description": (
            "Re-discover themes over recent feedback; proposes new themes, never renames or "
            "deletes the ones managers curated. Runs on the “training” queue."
        ),
        "task": "insights.tasks.discover_themes_task",
        "schedule": crontab(hour=3, minute=15),
        "options": {"queue": "training"},
    },
    "refresh-forecasts": {
        "description": (
            "Forecast weekly volume, average sentiment and NPS INSIGHTS_FORECAST_HORIZON "
            "weeks ahead (4-12, default 8), overall, for the busiest products and for the "
            "busiest themes, and backtest each forecast against a seasonal-naive one. Weekly "
            "data, so nightly is plenty."
        ),
        "task": "insights.tasks.refresh_forecasts_task",
        "schedule": crontab(hour=4, minute=0),
    },
    "poll-review-sources": {
        "description": (
            "Fetch new reviews from the connected review sources whose polling interval is "
            "due; each source is fetched by its own task, and a failing one backs off up to a "
            "day."
        ),
        "task": "feedback.tasks.poll_due_review_sources_task",
        "schedule": 60.0,
    },
    "requeue-stale-invitations": {
        "description": (
            "Survey invitations whose send message was lost (broker down at the commit) are "
            "queued again."
        ),
        "task": "surveys.tasks.requeue_stale_invitations_task",
        "schedule": crontab(minute="*/10"),
    },
    "anonymise-expired-feedback": {
        "description": (
            "Past the retention period (FEEDBACK_RETENTION_DAYS, off by default), feedback "
            "text loses its contact details and the submitter's name; scores and themes stay."
        ),
        "task": "feedback.tasks.anonymise_expired_feedback_task",
        "schedule": crontab(hour=1, minute=45),
    },
    "refresh-segments": {
        "description": (
            "Re-match every rule segment's customers to its rules (customers change, feedback "
            "on products arrives) and bring the value at stake of their open requests up to "
            "date."
        ),
        "task": "customization.tasks.refresh_all_segments_task",
        "schedule": crontab(minute=20),
    },
    "suggest-segments": {
        "description": (
            "Cluster customers into suggested segments for managers to accept or discard; "
            "only the pending suggestions are replaced."
        ),
        "task": "customization.tasks.suggest_segments_task",
        "schedule": crontab(day_of_week="mon", hour=4, minute=30),
    },
    "refresh-idea-numbers": {
        "description": (
            "Nightly: recompute every idea's evidence numbers (customers, value at stake, "
            "segments, votes, weighted reach) and its RICE and value/effort scores."
        ),
        "task": "innovation.tasks.refresh_idea_numbers_task",
        "schedule": crontab(hour=1, minute=15),
    },
    "suggest-ideas": {
        "description": (
            "Weekly idea suggestions: themes that hurt (emerging negative, or large and "
            "mostly negative over the last 28 days) and have no idea yet are proposed to "
            "managers; pending ones are refreshed, dismissed ones return only after "
            "significant growth."
        ),
        "task": "innovation.tasks.suggest_ideas_task",
        "schedule": crontab(day_of_week="mon", hour=6, minute=0),
    },
    "check-idea-impact": {
        "description": (
            "Impact check: for shipped ideas whose check is due, compare their theme before "
            "and after shipping (volume, negative share, sentiment) and record the verdict."
        ),
        "task": "innovation.tasks.check_idea_impact_task",
        "schedule": crontab(hour=5, minute=30),
    },
    "close-recent-loops": {
        "description": (
            "Safety net: send close-the-loop emails still missing for items shipped or "
            "delivered in the last week (a message lost while the broker was down). Sends "
            "nothing twice."
        ),
        "task": "innovation.tasks.close_recent_loops_task",
        "schedule": crontab(hour=7, minute=0),
    },
    "requeue-due-webhooks": {
        "description": (
            "Webhook deliveries that are due but whose task was lost (broker down, worker "
            "died) are queued again; a claimed delivery is never posted twice."
        ),
        "task": "api.tasks.requeue_due_webhooks_task",
        "schedule": 60.0,
    },
    "send-weekly-digest": {
        "description": (
            "Monday morning: email managers last week's KPIs, the biggest significant movers "
            "(products and themes) and the alerts raised that week."
        ),
        "task": "insights.tasks.send_weekly_digest_task",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
    "delete-abandoned-review-imports": {
        "description": (
            "Uploads of review files never given a column mapping "
            "(REVIEW_IMPORT_ABANDONED_DAYS, 7 by default) are deleted with their stored file."
        ),
        "task": "feedback.tasks.delete_abandoned_review_imports_task",
        "schedule": crontab(hour=3, minute=45),
    },
    "purge-idempotency-records": {
        "description": ("Forget API Idempotency-Key records older than a day."),
        "task": "surveys.tasks.purge_expired_idempotency_records_task",
        "schedule": crontab(hour=5, minute=0),
    },
}

# A heartbeat a minute on every queue (settings.FOCUSLOOP_QUEUES), run by whichever worker
# consumes it; the web's /healthz/workers/ reports a queue without a recent one.
for _queue in ("default", "analysis", "training", "mail"):
    DEFAULT_BEAT_SCHEDULE[f"heartbeat-{_queue}"] = {
        "description": (
            f"Heartbeat of the “{_queue}” queue: the worker consuming it notes the time, "
            "and /healthz/workers/ reports the queue when the last one is too old."
        ),
        "task": "accounts.tasks.record_heartbeat_task",
        "schedule": 60.0,
        "args": (_queue,),
        "options": {"queue": _queue},
    }

# What each entry does, for the admin (django-celery-beat's PeriodicTask.description);
# Celery's entries take no such key.
BEAT_DESCRIPTIONS = {
    name: entry.pop("description") for name, entry in DEFAULT_BEAT_SCHEDULE.items()
}

# Read by Celery's own file scheduler too (``celery beat -S celery.beat:PersistentScheduler``).
app.conf.beat_schedule = DEFAULT_BEAT_SCHEDULE
