"""The daily rollup counts survey scores beside feedback, and recounts only touched days."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from feedback.models import Customer
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory
from insights import services
from insights.models import AnalysisRun, DailyFeedbackStat, DirtyRollupDay

from .rollup_data import answer_survey, make_survey

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def test_nps_csat_and_ces_answers_are_counted_per_day_product_and_customer_kind():
    app = ProductFactory(name="App", slug="app")
    survey = make_survey(product=app)
    internal = CustomerFactory(internal=True)
    for nps, csat, ces in [(10, 5, 7), (9, 4, 6), (8, 3, 5), (6, 1, 2), (0, None, None)]:
        answer_survey(survey, submitted_at=at(DAY), nps=nps, csat=csat, ces=ces)
    answer_survey(survey, submitted_at=at(DAY), nps=3, customer=internal)
    # 23:59 UTC is still the same day; 00:00 the next.
    answer_survey(survey, submitted_at=at(DAY, 23).replace(minute=59), nps=9)
    answer_survey(survey, submitted_at=at(DAY + dt.timedelta(days=1), 0), nps=9)

    services.refresh_daily_stats(days=[DAY])

    external = DailyFeedbackStat.objects.get(day=DAY, product=app, customer_kind="external")
    assert external.channel == "survey"
    assert (external.nps_promoters, external.nps_passives, external.nps_detractors) == (3, 1, 2)
    assert (external.csat_count, external.csat_sum, external.csat_satisfied) == (4, 13, 2)
    assert external.csat_sq_sum == 25 + 16 + 9 + 1
    assert (external.ces_count, external.ces_sum, external.ces_sq_sum) == (4, 20, 49 + 36 + 25 + 4)
    assert external.feedback_count == 0
    internal_row = DailyFeedbackStat.objects.get(day=DAY, customer_kind="internal")
    assert internal_row.nps_detractors == 1
    assert not DailyFeedbackStat.objects.filter(day=DAY + dt.timedelta(days=1)).exists()


def test_anonymous_respondents_of_an_internal_survey_count_as_internal():
    survey = make_survey(audience="internal")
    answer_survey(survey, submitted_at=at(DAY), nps=10)
    services.refresh_daily_stats(days=[DAY])
    assert DailyFeedbackStat.objects.get(day=DAY).customer_kind == Customer.Kind.INTERNAL


def test_survey_comment_feedback_and_scores_share_one_rollup_row():
    app = ProductFactory(name="App", slug="app")
    survey = make_survey(product=app)
    comment = FeedbackFactory(
        channel="survey", product=app, received_at=at(DAY), sentiment_score=-0.5,
        sentiment_label="negative", analysed_at=at(DAY),
    )  # fmt: skip
    answer_survey(survey, submitted_at=at(DAY), nps=2, comment="Slow", feedback=comment)

    services.refresh_daily_stats(days=[DAY])

    (row,) = DailyFeedbackStat.objects.filter(day=DAY)
    assert (row.feedback_count, row.negative_count, row.nps_detractors) == (1, 1, 1)
    assert row.sentiment_sq_sum == pytest.approx(0.25)


def test_refreshing_one_day_leaves_the_other_days_untouched():
    FeedbackFactory(received_at=at(DAY))
    FeedbackFactory(received_at=at(DAY + dt.timedelta(days=1)))
    services.refresh_daily_stats()
    FeedbackFactory(received_at=at(DAY))
    FeedbackFactory(received_at=at(DAY + dt.timedelta(days=1)))

    services.mark_days_dirty([DAY])
    assert services.refresh_dirty_days() == 1

    counts = dict(DailyFeedbackStat.objects.values_list("day", "feedback_count"))
    assert counts == {DAY: 2, DAY + dt.timedelta(days=1): 1}
    assert not DirtyRollupDay.objects.exists()


def test_rebuild_command_recounts_from_since_and_records_a_run():
    FeedbackFactory(received_at=at(DAY))
    FeedbackFactory(received_at=at(DAY + dt.timedelta(days=3)))
    stale = DailyFeedbackStat.objects.create(
        day=DAY, channel="form", customer_kind="external", feedback_count=99
    )
    out = StringIO()

    call_command("rebuild_rollups", "--since", (DAY + dt.timedelta(days=1)).isoformat(), stdout=out)

    result = json.loads(out.getvalue())
    assert result["daily_feedback_stats"] == 1 and result["seconds"] >= 0
    stale.refresh_from_db()
    assert stale.feedback_count == 99  # before --since: not touched
    call_command("rebuild_rollups", stdout=StringIO())
    assert dict(DailyFeedbackStat.objects.values_list("day", "feedback_count")) == {
        DAY: 1,
        DAY + dt.timedelta(days=3): 1,
    }
    runs = AnalysisRun.objects.filter(kind="rollup")
    assert runs.count() == 2 and {r.status for r in runs} == {"succeeded"}


def test_rebuild_command_rejects_a_bad_date():
    with pytest.raises(CommandError, match="--since"):
        call_command("rebuild_rollups", "--since", "31/01/2026")
