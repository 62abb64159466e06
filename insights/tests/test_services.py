import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from feedback.models import Feedback
from feedback.services import record_feedback
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory
from insights import selectors, services, trends
from insights.analysis import sentiment
from insights.models import DailyFeedbackStat

pytestmark = pytest.mark.django_db


def test_analysis_scores_every_pending_row_once(settings):
    settings.ANALYSIS_BATCH_SIZE = 2
    happy = record_feedback(channel="form", text="I love the new app, it is wonderful!")
    angry = record_feedback(channel="form", text="Terrible service, the app crashes and I hate it.")
    flat = record_feedback(channel="form", text="I ordered a parcel on Tuesday.")

    assert services.analyse_pending_batch() == 2
    assert Feedback.objects.unanalysed().count() == 1
    assert services.analyse_all_pending() == 1
    assert services.analyse_all_pending() == 0

    labels = dict(Feedback.objects.values_list("pk", "sentiment_label"))
    assert labels == {happy.pk: "positive", angry.pk: "negative", flat.pk: "neutral"}
    assert set(Feedback.objects.values_list("sentiment_model", flat=True)) == {sentiment.MODEL_NAME}


def test_analysis_leaves_triage_fields_alone():
    feedback = record_feedback(channel="form", text="Great")
    Feedback.objects.filter(pk=feedback.pk).update(status="closed")
    services.analyse_all_pending()
    feedback.refresh_from_db()
    assert feedback.status == "closed" and feedback.sentiment_label == "positive"


def test_rollup_matches_the_raw_feedback():
    now = timezone.now()
    product = ProductFactory()
    internal = CustomerFactory(internal=True)
    for days_ago in (0, 0, 1, 8, 40):
        record_feedback(
            channel="review",
            text="Awful, broken again",
            product=product,
            received_at=now - dt.timedelta(days=days_ago),
            rating=1,
            rating_min=1,
            rating_max=5,
        )
    record_feedback(channel="form", text="Lovely", customer=internal, received_at=now)
    services.analyse_all_pending()

    totals = DailyFeedbackStat.objects.aggregate(n=Sum("feedback_count"), neg=Sum("negative_count"))
    assert totals == {"n": 6, "neg": 5}
    internal_rows = DailyFeedbackStat.objects.filter(customer_kind="internal")
    assert internal_rows.aggregate(n=Sum("positive_count"))["n"] == 1

    # A full recount gives the same numbers as the per-batch refreshes.
    before = sorted(
        DailyFeedbackStat.objects.values_list("day", "channel", "customer_kind", "feedback_count")
    )
    services.refresh_daily_stats(days=None)
    after = sorted(
        DailyFeedbackStat.objects.values_list("day", "channel", "customer_kind", "feedback_count")
    )
    assert before == after


def test_kpis_compare_the_last_30_days_with_the_30_before():
    now = timezone.now()
    for days_ago in (1, 2, 3):
        record_feedback(
            channel="form", text="Bad, very bad", received_at=now - dt.timedelta(days=days_ago)
        )
    for days_ago in (44, 45):
        record_feedback(
            channel="form", text="Good, very good", received_at=now - dt.timedelta(days=days_ago)
        )
    services.analyse_all_pending()

    rows = {row["metric"]: row for row in trends.period_comparison(days=30)["rows"]}
    assert (rows["volume"]["current"].value, rows["volume"]["previous"].value) == (3, 2)
    assert rows["negative_share"]["current"].value == 1.0
    assert rows["negative_share"]["previous"].value == 0.0
    assert (
        rows["average_sentiment"]["current"].value < 0 < rows["average_sentiment"]["previous"].value
    )


def test_weekly_series_covers_a_year_with_empty_weeks_as_zero():
    now = timezone.now()
    record_feedback(channel="form", text="Good", received_at=now)
    record_feedback(channel="form", text="Good", received_at=now - dt.timedelta(weeks=3))
    services.analyse_all_pending()

    series = selectors.weekly_series(weeks=52)
    assert len(series) == 52
    assert sum(row["volume"] for row in series) == 2
    assert series[-1]["volume"] == 1 and series[-1]["average_sentiment"] > 0
    assert series[-2]["volume"] == 0 and series[-2]["average_sentiment"] is None


def test_sweep_task_analyses_rows_whose_trigger_was_lost():
    # The autouse fixture disables the trigger: these rows never woke a worker.
    rows = [FeedbackFactory(text="Terrible refund process, awful and slow") for _ in range(3)]
    from insights.tasks import sweep_unanalysed_feedback_task

    assert sweep_unanalysed_feedback_task.apply().get() == 3
    assert all(Feedback.objects.get(pk=r.pk).sentiment_label == "negative" for r in rows)


def test_mixed_feedback_keeps_its_strongest_positive_and_negative_sentence():
    feedback = record_feedback(
        channel="form",
        text="The support team was wonderful and friendly. But the invoice is wrong and I am furious.",
    )
    services.analyse_all_pending()
    feedback.refresh_from_db()
    assert "wonderful" in feedback.positive_excerpt and feedback.positive_excerpt_score > 0
    assert "furious" in feedback.negative_excerpt and feedback.negative_excerpt_score < 0
    assert feedback.sentiment_label in {"positive", "negative", "neutral"}

    plain = record_feedback(channel="form", text="Great service, thank you!")
    services.analyse_all_pending()
    plain.refresh_from_db()
    assert plain.negative_excerpt == "" and plain.negative_excerpt_score is None


def test_wake_up_task_leaves_the_rollup_to_the_sweep():
    from insights.models import DirtyRollupDay
    from insights.tasks import analyse_pending_feedback_task, sweep_unanalysed_feedback_task

    record_feedback(channel="form", text="Fine")
    assert analyse_pending_feedback_task.apply().get() == 1
    assert not DailyFeedbackStat.objects.exists()
    assert DirtyRollupDay.objects.count() == 1

    sweep_unanalysed_feedback_task.apply()
    assert DailyFeedbackStat.objects.aggregate(n=Sum("feedback_count"))["n"] == 1
    assert not DirtyRollupDay.objects.exists()
