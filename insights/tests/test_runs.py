"""AnalysisRun records and the runs page."""

import datetime as dt

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.urls import reverse
from django.utils import timezone

from insights.models import AnalysisRun
from insights.runs import expire_stale_runs, tracked_run
from insights.tasks import refresh_recent_daily_stats_task, sweep_unanalysed_feedback_task

pytestmark = pytest.mark.django_db


def test_a_run_records_rows_progress_and_success():
    with tracked_run("forecast", task_id="abc") as run:
        assert AnalysisRun.objects.get().status == "running"
        run.progress(1, 4)
        assert AnalysisRun.objects.get().percent == 25
        run.add_rows(7)
    stored = AnalysisRun.objects.get()
    assert (stored.status, stored.rows, stored.task_id, stored.done) == ("succeeded", 7, "abc", 4)
    assert stored.finished_at >= stored.started_at and stored.progress == 1.0


def test_a_failing_run_is_recorded_and_the_error_propagates():
    with pytest.raises(ZeroDivisionError), tracked_run("alerts"):
        raise ZeroDivisionError("division by zero")
    stored = AnalysisRun.objects.get()
    assert stored.status == "failed" and stored.error.startswith("ZeroDivisionError")
    assert stored.finished_at is not None


def test_a_run_stopped_at_its_time_limit_says_so_in_words():
    with pytest.raises(SoftTimeLimitExceeded), tracked_run("forecast"):
        raise SoftTimeLimitExceeded()

    stored = AnalysisRun.objects.get()
    assert stored.status == "failed"
    assert stored.error == "Stopped: the run took longer than its time limit of 900 seconds."


def test_a_run_whose_worker_died_is_marked_failed():
    run = AnalysisRun.objects.create(kind="sweep")
    AnalysisRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))
    fresh = AnalysisRun.objects.create(kind="sweep")
    assert expire_stale_runs() == 1
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == "failed" and "worker stopped" in run.error
    assert fresh.status == "running"


def test_a_run_is_stale_once_its_own_tasks_time_limit_has_passed():
    started = timezone.now() - dt.timedelta(minutes=15)
    sweep = AnalysisRun.objects.create(kind="sweep")  # killed at 300 s
    training = AnalysisRun.objects.create(kind="retrain")  # may take up to 1,900 s
    AnalysisRun.objects.filter(pk__in=[sweep.pk, training.pk]).update(started_at=started)

    assert expire_stale_runs() == 1

    sweep.refresh_from_db()
    training.refresh_from_db()
    assert sweep.status == "failed" and "worker stopped" in sweep.error
    assert training.status == "running"


def test_old_finished_runs_of_a_kind_are_pruned_when_it_runs_again():
    old = AnalysisRun.objects.create(kind="sweep", status="succeeded")
    other_kind = AnalysisRun.objects.create(kind="alerts", status="succeeded")
    AnalysisRun.objects.filter(pk__in=[old.pk, other_kind.pk]).update(
        started_at=timezone.now() - dt.timedelta(days=15)
    )
    with tracked_run("sweep"):
        pass
    assert not AnalysisRun.objects.filter(pk=old.pk).exists()
    assert AnalysisRun.objects.filter(pk=other_kind.pk).exists()


def test_periodic_tasks_record_their_runs():
    assert sweep_unanalysed_feedback_task.apply().get() == 0
    refresh_recent_daily_stats_task.apply().get()
    assert sorted(AnalysisRun.objects.values_list("kind", "status")) == [
        ("rollup", "succeeded"),
        ("sweep", "succeeded"),
    ]


def test_a_sweep_works_off_a_large_backlog_in_runs_that_each_finish_and_recount(
    settings, monkeypatch
):
    from feedback.tests.factories import FeedbackFactory
    from insights import tasks
    from insights.models import DailyFeedbackStat

    settings.ANALYSIS_BATCH_SIZE = 2
    monkeypatch.setattr(tasks, "ANALYSIS_TIME_BUDGET", 0)  # as if each batch took long
    for _ in range(5):
        FeedbackFactory(text="The courier was late again")

    assert sweep_unanalysed_feedback_task.apply().get() == 2

    run = AnalysisRun.objects.get()
    assert (run.status, run.rows) == ("succeeded", 2)
    assert sum(DailyFeedbackStat.objects.values_list("analysed_count", flat=True)) == 2
    assert [sweep_unanalysed_feedback_task.apply().get() for _ in range(3)] == [2, 1, 0]


def test_a_sweep_knows_its_backlog_and_reports_each_batch_for_the_progress_bar(settings):
    from feedback.tests.factories import FeedbackFactory
    from insights import services

    settings.ANALYSIS_BATCH_SIZE = 2
    for _ in range(5):
        FeedbackFactory(text="Lovely staff, quick refund")
    batches = []
    assert services.analyse_all_pending(on_batch=batches.append) == 5
    assert batches == [2, 4, 5]

    for _ in range(3):
        FeedbackFactory(text="The courier was late again")
    assert sweep_unanalysed_feedback_task.apply().get() == 3

    run = AnalysisRun.objects.get(kind="sweep")
    assert (run.status, run.done, run.total, run.rows) == ("succeeded", 3, 3, 3)


def test_runs_page_per_role(client, outsider, staff_member, manager):
    assert client.get(reverse("insights:runs")).status_code == 302
    assert client.get(reverse("insights:run_status")).status_code == 302
    for user in (outsider, staff_member):
        client.force_login(user)
        assert client.get(reverse("insights:runs")).status_code == 403
        assert client.get(reverse("insights:run_status")).status_code == 403
    client.force_login(manager)
    assert client.get(reverse("insights:runs")).status_code == 200


def test_runs_page_shows_a_progress_bar_for_a_running_run_and_json_follows_it(
    client, manager, django_assert_max_num_queries
):
    running = AnalysisRun.objects.create(kind="forecast", total=10, done=3)
    AnalysisRun.objects.create(kind="sweep", status="failed", error="OperationalError: <down>")
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("insights:runs")).content.decode()
    assert 'data-running="true"' in page and 'value="30"' in page
    assert "OperationalError: &lt;down&gt;" in page
    assert "js/analysis_runs.js" in page

    data = client.get(reverse("insights:run_status")).json()
    first = next(r for r in data["runs"] if r["id"] == running.pk)
    assert (first["status"], first["percent"], first["done"], first["total"]) == (
        "running", 30, 3, 10,
    )  # fmt: skip


def test_a_long_error_can_be_read_in_full_on_the_runs_page(client, manager):
    error = (
        'OperationalError: connection to server at "db.internal" (10.0.0.5), port 5432 '
        "failed: FATAL:  remaining connection slots are reserved for roles with the "
        "SUPERUSER attribute\nIs the server running on that host and accepting TCP/IP "
        "connections? The pool <main> was exhausted after 30 s."
    )
    AnalysisRun.objects.create(kind="forecast", status="failed", error=error)
    client.force_login(manager)

    page = client.get(reverse("insights:runs")).content.decode()

    cell = page[page.index('data-field="error"') :]
    cell = cell[: cell.index("</td>")]
    assert "<details><summary>" in cell
    assert "connections? The pool &lt;main&gt; was exhausted after 30 s." in cell
    assert "attribute<br>Is the server running" in cell


def test_runs_page_filters_by_kind(client, manager):
    AnalysisRun.objects.create(kind="sweep", status="succeeded")
    forecast = AnalysisRun.objects.create(kind="forecast", status="succeeded", rows=18)
    client.force_login(manager)
    page = client.get(reverse("insights:runs") + "?kind=forecast").content.decode()
    assert f'data-run="{forecast.pk}"' in page and page.count("data-run=") == 1
    data = client.get(reverse("insights:run_status") + "?kind=forecast").json()
    assert [run["id"] for run in data["runs"]] == [forecast.pk]
    # An unknown kind shows everything rather than failing.
    assert (
        client.get(reverse("insights:runs") + "?kind=bogus").content.decode().count("data-run=")
        == 2
    )


def test_an_attempt_celery_retries_says_so_and_the_last_one_reads_as_the_failure(monkeypatch):
    from django.db import OperationalError

    from insights import services

    def database_gone():
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "refresh_recent_daily_stats", database_gone)
    refresh_recent_daily_stats_task.apply()

    errors = list(AnalysisRun.objects.order_by("pk").values_list("error", flat=True))
    limit = refresh_recent_daily_stats_task.max_retries
    assert len(errors) == limit + 1
    assert errors[0].endswith("Retried automatically (retry 1 of 5).") and limit == 5
    assert errors[-2].endswith(f"(retry {limit} of {limit}).")
    assert errors[-1] == "OperationalError: server closed the connection unexpectedly"
