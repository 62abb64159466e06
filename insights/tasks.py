"""Celery tasks of the insights engine. Each takes ids and JSON-safe values, calls one
service, and is safe to run twice (acks_late): work is claimed or written idempotently.

The periodic ones (see the beat schedule in config/celery.py) record an AnalysisRun per
run and retry with exponential back-off on transient database errors only (connection
lost, server restarting, lock timeouts); any other error fails the run and is shown on
the runs page.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import selectors, services
from .models import AnalysisRun
from .runs import tracked_run

# Worth a retry: the database was unreachable or timed out, not wrong.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

# Redelivered if the worker dies; retried with exponential back-off.
RETRYING = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 240,
    "time_limit": 300,
}

PERIODIC = {**RETRYING, "bind": True, "autoretry_for": TRANSIENT_ERRORS}

# Analysis takes no new batch after this many seconds, well inside the 240-second soft
# limit: a backlog left by an outage or a large import is worked off by consecutive runs
# that each end normally, count their rows and recount the days they touched, instead of
# each one being cut off mid-batch with its days left stale.
ANALYSIS_TIME_BUDGET = 150


@shared_task(**RETRYING, autoretry_for=TRANSIENT_ERRORS)
def analyse_pending_feedback_task() -> int:
    """Woken after feedback is committed; scores the whole backlog batch by batch.
    The rollup is recounted by the sweep, once a minute, not on every wake-up.
    Not tracked as an AnalysisRun (it runs after every submission); the sweep is."""
    return services.analyse_all_pending(refresh_rollups=False, time_budget=ANALYSIS_TIME_BUDGET)


@shared_task(**PERIODIC)
def sweep_unanalysed_feedback_task(self) -> int:
    """Beat: analyse whatever a lost or debounced trigger left behind, recount dirty days."""
    with tracked_run(AnalysisRun.Kind.SWEEP, task=self) as run:
        # Known size, so the runs page shows a bar that moves while a backlog is worked off.
        run.progress(0, selectors.pending_analysis_count())
        rows = services.analyse_all_pending(time_budget=ANALYSIS_TIME_BUDGET, on_batch=run.progress)
        run.add_rows(rows)
    return rows


@shared_task(**PERIODIC)
def refresh_recent_daily_stats_task(self) -> int:
    """Beat: recount the last days of the rollups (late arrivals, survey answers)."""
    with tracked_run(AnalysisRun.Kind.ROLLUP, task=self) as run:
        rows = services.refresh_recent_daily_stats()
        run.add_rows(rows)
    return rows


@shared_task(**{**PERIODIC, "soft_time_limit": 1800, "time_limit": 1900, "max_retries": 3})
def train_sentiment_model_task(self) -> int | None:
    """Nightly, on the training queue: train a candidate, activate it only if better."""
    from .model_training import train_sentiment_model

    with tracked_run(AnalysisRun.Kind.RETRAIN, task=self) as run:
        model = train_sentiment_model(run=run)
        if model is not None:
            run.add_rows(model.training_size)
            run.note(version=model.version, active=model.is_active)
    return model.version if model else None


@shared_task(**PERIODIC)
def rescore_outdated_feedback_task(self, max_batches: int = 50) -> int:
    """Re-score rows an older model scored, a batch at a time, until none or the budget is spent."""
    from .model_training import rescore_outdated_batch

    total = 0
    with tracked_run(AnalysisRun.Kind.RESCORE, task=self) as run:
        for _ in range(max_batches):
            done = rescore_outdated_batch()
            if not done:
                break
            total += done
        services.refresh_dirty_days()
        run.add_rows(total)
    return total


@shared_task(**{**PERIODIC, "soft_time_limit": 900, "time_limit": 960})
def refresh_forecasts_task(self) -> int:
    """Beat, nightly: re-forecast the weekly metrics with their backtests."""
    from .forecasts import refresh_forecasts

    with tracked_run(AnalysisRun.Kind.FORECAST, task=self) as run:
        return refresh_forecasts(run=run)


@shared_task(**PERIODIC)
def evaluate_alerts_task(self) -> dict:
    """Beat: evaluate alert rules and the built-ins (sentiment drop, emerging themes,
    detractor follow-ups). Alerts de-duplicate by fingerprint, so a re-run is harmless."""
    from .alerts import evaluate_alerts

    with tracked_run(AnalysisRun.Kind.ALERTS, task=self) as run:
        report = evaluate_alerts(run=run)
        run.add_rows(report.checked + report.follow_ups)
        run.note(**report.as_dict())
        if report.errors:
            run.report_problem(
                f"{len(report.errors)} alert rule(s) could not be evaluated; the others were: "
                + "; ".join(report.errors)
            )
    return report.as_dict()


@shared_task(**{**PERIODIC, "soft_time_limit": 1800, "time_limit": 1900})
def discover_themes_task(self, k: int | None = None) -> int | None:
    """Nightly, on the training queue: re-discover themes; curated ones survive."""
    from .theme_services import ThemeDiscoveryError, discover_themes

    with tracked_run(AnalysisRun.Kind.THEMES, task=self) as run:
        try:
            model = discover_themes(k=k)
        except ThemeDiscoveryError as exc:
            # Too little feedback yet: a normal outcome, recorded on the run.
            run.note(skipped=str(exc))
            return None
        run.add_rows(model.training_size)
        return model.version


@shared_task(
    **{**RETRYING, "soft_time_limit": 1800, "time_limit": 1900}, autoretry_for=TRANSIENT_ERRORS
)
def apply_keyword_rules_task(theme_id: int | None = None) -> int:
    """After a keyword rule changed: apply the rules to existing feedback, batch by batch."""
    from .theme_services import apply_keyword_rules_everywhere

    return apply_keyword_rules_everywhere(theme_id=theme_id)


@shared_task(**RETRYING, autoretry_for=TRANSIENT_ERRORS)
def send_weekly_digest_task() -> int:
    """Beat, Mondays: email managers the week's KPIs, biggest movers and new alerts.
    A second run on the same day sends nothing (see ``send_weekly_digest``)."""
    from .digest import send_weekly_digest

    return send_weekly_digest()
