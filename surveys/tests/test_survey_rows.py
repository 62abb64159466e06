"""The respondent path's survey rows kept per process (``selectors.survey_to_answer`` and
``survey_by_id``): a first opinion only, forgotten on every change made here, re-checked
under the lock for every response."""

import uuid

import pytest
from django.core.cache import cache
from django.http import Http404
from django.urls import reverse

from surveys import selectors, services
from surveys.models import Response, Survey
from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()  # the form's rate limit
    selectors.forget_survey_rows()
    yield
    selectors.forget_survey_rows()


def respond_url(survey):
    return reverse("surveys:respond", args=[survey.slug])


def answer(client, survey, nps="8"):
    return client.post(respond_url(survey), {"client_uuid": str(uuid.uuid4()), "q_nps": nps})


def test_a_row_is_looked_up_once_and_handed_out_as_a_copy(django_assert_num_queries):
    survey = make_survey()
    first = selectors.survey_by_id(survey.pk)
    with django_assert_num_queries(0):
        again = selectors.survey_by_id(survey.pk)
    assert again == first and again is not first
    again.questions_version = 99  # a caller's change stays in its copy
    assert selectors.survey_by_id(survey.pk).questions_version == survey.questions_version
    with django_assert_num_queries(1):  # a slug is kept on its own
        assert selectors.survey_to_answer(survey.slug) == survey
    with pytest.raises(Http404):
        selectors.survey_by_id(survey.pk + 1000)


def test_a_survey_closed_by_another_process_refuses_responses_at_once(client):
    survey = make_survey()
    assert answer(client, survey).status_code == 302  # the row is kept now
    # Closed behind this process's back (another web process): no signal reaches it.
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    # The kept row still says open, the statement's lock says closed: refused, not stored.
    page = answer(client, survey)
    assert page.status_code == 410 and "closed" in page.content.decode()
    assert Response.objects.count() == 1


def test_questions_edited_by_another_process_are_asked_after_the_lock(client):
    survey = make_survey(questions=[{"key": "nps", "kind": "nps", "text": "Recommend us?"}])
    assert answer(client, survey).status_code == 302
    stale = Survey.objects.get(pk=survey.pk)
    services.add_question(
        survey=Survey.objects.get(pk=survey.pk),
        key="email",
        kind="short_text",
        text="Email?",
        required=True,
    )
    # As another web process would still keep it: the row from before the edit.
    selectors._rows.put(("slug", survey.slug), stale)
    page = answer(client, survey)
    assert page.status_code == 400 and "This question requires an answer." in page.content.decode()
    assert Response.objects.count() == 1


def test_changes_made_in_this_process_are_seen_at_once(client):
    survey = make_survey()
    assert client.get(respond_url(survey)).status_code == 200
    services.close_survey(survey=Survey.objects.get(pk=survey.pk))
    assert client.get(respond_url(survey)).status_code == 410


def test_a_kept_row_is_read_again_after_its_time(client, monkeypatch):
    survey = make_survey()
    assert client.get(respond_url(survey)).status_code == 200
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    assert client.get(respond_url(survey)).status_code == 200  # kept: still shown open
    monkeypatch.setattr(selectors, "ROW_TTL_SECONDS", 0.0)
    selectors.forget_survey_rows()
    assert client.get(respond_url(survey)).status_code == 410  # read again: closed
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    assert client.get(respond_url(survey)).status_code == 200  # kept for no time at all
