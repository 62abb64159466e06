import io

import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from feedback.models import Feedback
from insights.models import DailyFeedbackStat
from surveys.demo import DEMO_SLUGS
from surveys.models import Answer, Response, Survey

pytestmark = pytest.mark.django_db


def _scores():
    return list(
        Answer.objects.filter(question__key="nps")
        .order_by("response__submitted_at", "number")
        .values_list("number", flat=True)
    )


def test_demo_surveys_are_answered_once_through_the_services():
    call_command("seed_demo", "--size", "200", stdout=io.StringIO())
    call_command("seed_demo_surveys", "--responses", "80", stdout=io.StringIO())
    purchase, desk = (Survey.objects.get(slug=slug) for slug in DEMO_SLUGS)
    assert purchase.status == Survey.Status.OPEN and desk.status == Survey.Status.CLOSED
    assert Response.objects.filter(survey=purchase).count() == 60
    assert Response.objects.filter(survey=desk).count() == 20
    # The follow-up is only ever answered by detractors, as its logic says.
    follow_ups = Answer.objects.filter(question__key="why").select_related("response")
    for answer in follow_ups:
        nps = answer.response.answers.get(question__key="nps").number
        assert nps <= 6
    assert Feedback.objects.filter(channel="survey").count() >= follow_ups.count()
    # The back-dated scores are in the rollups the dashboard reads, every one of them.
    rolled = DailyFeedbackStat.objects.aggregate(
        n=Sum(F("nps_promoters") + F("nps_passives") + F("nps_detractors"))
    )["n"]
    assert rolled == Answer.objects.filter(question__kind="nps").count() > 0
    first = _scores()

    out = io.StringIO()
    call_command("seed_demo_surveys", stdout=out)
    assert "nothing written" in out.getvalue()
    assert Response.objects.count() == 80 and _scores() == first
