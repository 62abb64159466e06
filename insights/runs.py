"""AnalysisRun bookkeeping: one record per periodic task run, with progress for the runs page.

Every periodic task wraps its work in :func:`tracked_run`. The record is written in its own
short transactions (never inside the task's work transaction), so the runs page sees a run
start, move and finish while it is happening, and a failure is recorded even when the
work's transaction is rolled back.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import AnalysisRun

logger = logging.getLogger(__name__)

# A run still "running" this long after its task's hard time limit lost its worker.
STALE_MARGIN = dt.timedelta(minutes=5)
# Finished runs are kept this long: the sweep alone records 1,440 runs a day.
KEEP_RUNS_FOR = dt.timedelta(days=14)
# The beat tasks a manager may start at once (the runs page's "Run now", the models page's
# "Retrain now"), by their name in insights.tasks. Re-scoring is left to beat: it follows
# a model change by itself.
ON_DEMAND_TASKS = {
    AnalysisRun.Kind.SWEEP: "sweep_unanalysed_feedback_task",
    AnalysisRun.Kind.ROLLUP: "refresh_recent_daily_stats_task",
    AnalysisRun.Kind.THEMES: "discover_themes_task",
    AnalysisRun.Kind.FORECAST: "refresh_forecasts_task",
    AnalysisRun.Kind.ALERTS: "evaluate_alerts_task",
    AnalysisRun.Kind.RETRAIN: "train_sentiment_model_task",
}
# A run queued by hand counts as queued until a run of its kind starts, or for this long:
# a second "Run now" meanwhile does not queue it again. Long enough for a busy worker to
# get to it; short enough that a lost message does not keep the button refusing for long.
QUEUED_FOR = 15 * 60


def queued_key(kind: str) -> str:
    return f"insights:run-queued:{kind}"


# The task that records each kind of run.
KIND_TASKS = {**ON_DEMAND_TASKS, AnalysisRun.Kind.RESCORE: "rescore_outdated_feedback_task"}


def stale_after(kind: str) -> dt.timedelta:
    """How long after its start a run of ``kind`` still "running" has lost its worker:
    its task's hard time limit (the worker kills it there) and a margin. A sweep killed at
    its 5-minute limit must not block "Run now" for as long as a training could take."""
    from . import tasks  # tasks imports this module

    return dt.timedelta(seconds=getattr(tasks, KIND_TASKS[kind]).time_limit) + STALE_MARGIN


def failure_text(kind: str, exc: BaseException) -> str:
    """Why a run failed, as the runs page shows it: the time limit in words (the exception
    itself reads "SoftTimeLimitExceeded()"), else the exception and its message."""
    if isinstance(exc, SoftTimeLimitExceeded):
        from . import tasks  # tasks imports this module

        limit = getattr(tasks, KIND_TASKS[kind]).soft_time_limit
        return f"Stopped: the run took longer than its time limit of {limit:,} seconds."
    return f"{type(exc).__name__}: {exc}"[:2000]


class RunTracker:
    """Handle the work uses to report rows and progress of its run."""

    def __init__(self, run: AnalysisRun):
        self.run = run

    def progress(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.run.total = total
        self.run.done = min(done, self.run.total) if self.run.total is not None else done
        AnalysisRun.objects.filter(pk=self.run.pk).update(done=self.run.done, total=self.run.total)

    def add_rows(self, count: int) -> None:
        self.run.rows += count

    def note(self, **detail) -> None:
        self.run.detail.update(detail)

    def report_problem(self, text: str) -> None:
        """What went wrong in part of a run that still finished (a rule that failed
        among the others): shown in the runs page's error column."""
        self.run.error = text[:2000]


def expire_stale_runs(*, now: dt.datetime | None = None) -> int:
    """Mark runs whose worker died mid-run (killed, OOM, host lost) as failed."""
    now = now or timezone.now()
    stale = Q()
    for kind in AnalysisRun.Kind.values:
        stale |= Q(kind=kind, started_at__lt=now - stale_after(kind))
    return (
        AnalysisRun.objects.running()
        .filter(stale)
        .update(
            status=AnalysisRun.Status.FAILED,
            finished_at=now,
            error="The worker stopped before the run finished (lost or killed).",
        )
    )


def request_run(*, kind: str, now: dt.datetime | None = None) -> None:
    """Queue the beat task of ``kind`` now, after the surrounding transaction commits, on
    the queue its route names (training for model training and theme discovery).

    Raises ``ValidationError`` when ``kind`` is not run on demand, when a run of that
    kind is already running (one that is not stale) or was queued by hand and has not
    started yet: a second one would only repeat it, or when the broker refused the
    message (called outside a transaction, the message is sent at once; inside one, a
    refusal at the commit is only logged)."""
    from . import tasks  # tasks imports this module

    if kind not in ON_DEMAND_TASKS:
        raise ValidationError("This analysis cannot be started by hand.")
    now = now or timezone.now()
    running = (
        AnalysisRun.objects.running()
        .filter(kind=kind, started_at__gte=now - stale_after(kind))
        .order_by("-started_at")
        .first()
    )
    label = AnalysisRun.Kind(kind).label
    if running is not None:
        started = timezone.localtime(running.started_at).strftime("%H:%M")
        raise ValidationError(
            f"{label} is already running (started {started}); it was not started again."
        )
    if not _mark_queued(kind, now=now):
        raise ValidationError(
            f"{label} is already queued and starts as soon as a worker is free; it was not "
            "queued again."
        )
    task = getattr(tasks, ON_DEMAND_TASKS[kind])
    refused = []

    def send() -> None:
        try:
            task.apply_async(retry=False)
        except Exception:  # the broker is down: the schedule still runs it once it is back
            logger.warning("%s run not queued: the broker refused it", kind, exc_info=True)
            cache.delete(queued_key(kind))
            refused.append(kind)

    transaction.on_commit(send)
    if refused:
        raise ValidationError(
            f"{label} could not be queued: the task queue is unreachable. It runs at its "
            "next scheduled time, or try again in a few minutes."
        )


def _mark_queued(kind: str, *, now: dt.datetime) -> bool:
    """Remember that a run of ``kind`` was queued by hand ``now``; False when one queued
    earlier has not started yet. The cache says when it was queued (Redis' SET NX: of two
    clicks, or two managers, one wins), the runs table whether a run started since."""
    key = queued_key(kind)
    # ``False`` only: a cache that is down answers None, and must not block the button.
    if cache.add(key, now.isoformat(), QUEUED_FOR) is not False:
        return True
    queued_at = cache.get(key)
    if (
        queued_at
        and not AnalysisRun.objects.filter(
            kind=kind, started_at__gte=dt.datetime.fromisoformat(queued_at)
        ).exists()
    ):
        return False
    cache.set(key, now.isoformat(), QUEUED_FOR)
    return True


def retry_note(task, exc: BaseException) -> str:
    """What follows a failed attempt of ``task``: Celery retries the transient errors the
    task names (``autoretry_for``) until ``max_retries``; the runs page says so, so an
    attempt that a retry will redo does not read as the job's failure."""
    transient = tuple(getattr(task, "autoretry_for", ()) or ())
    retries = getattr(task.request, "retries", 0) or 0
    limit = task.max_retries
    if transient and isinstance(exc, transient) and (limit is None or retries < limit):
        total = f" of {limit}" if limit is not None else ""
        return f" Retried automatically (retry {retries + 1}{total})."
    return ""


@contextmanager
def tracked_run(kind: str, *, task_id: str = "", task=None):
    """Record one run of ``kind``; yield a :class:`RunTracker`. Open it outside any
    transaction, or the runs page cannot see the run until the work commits.

    On normal exit the run is marked succeeded with the rows reported; on an exception
    it is marked failed with the error, and the exception propagates (so Celery can retry
    it, which starts a new run record; with the ``task``, the error says so).
    """
    expire_stale_runs()
    AnalysisRun.objects.filter(kind=kind, started_at__lt=timezone.now() - KEEP_RUNS_FOR).exclude(
        status=AnalysisRun.Status.RUNNING
    ).delete()
    if task is not None and not task_id:
        task_id = getattr(task.request, "id", "") or ""
    run = AnalysisRun.objects.create(kind=kind, task_id=task_id or "")
    tracker = RunTracker(run)
    try:
        yield tracker
    except BaseException as exc:
        run.status = AnalysisRun.Status.FAILED
        run.error = failure_text(kind, exc) + (retry_note(task, exc) if task else "")
        run.finished_at = timezone.now()
        try:
            run.save(update_fields=["status", "error", "finished_at", "rows", "detail"])
        except Exception:  # the database itself may be what failed
            logger.exception("Could not record the failure of analysis run %s", run.pk)
        raise
    run.status = AnalysisRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    if run.total is not None:
        run.done = run.total
    run.save(update_fields=["status", "finished_at", "rows", "done", "detail", "error"])


def tracked_task(kind: str):
    """Decorator for a bound Celery task body: runs it inside :func:`tracked_run`.

    The body receives the tracker as its ``run`` keyword; an int it returns is recorded as
    the run's rows unless the body reported rows itself.
    """

    def decorator(body):
        @functools.wraps(body)
        def wrapped(task, *args, **kwargs):
            with tracked_run(kind, task=task) as run:
                result = body(task, *args, run=run, **kwargs)
                if isinstance(result, int) and not run.run.rows:
                    run.add_rows(result)
            return result

        return wrapped

    return decorator
