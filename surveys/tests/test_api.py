import datetime as dt
import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback.models import Feedback
from surveys import services
from surveys.api import ResponseSerializer
from surveys.models import IdempotencyRecord, Response, Survey
from surveys.tests.factories import CustomerFactory, make_survey

pytestmark = pytest.mark.django_db


def key_client(scopes):
    _, raw = create_api_key(name="crm", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def integrator():
    return key_client(["surveys:read", "surveys:write"])


def responses_url(survey):
    return f"/api/v1/surveys/{survey.pk}/responses/"


def test_list_and_detail_with_questions(integrator):
    survey = make_survey()
    rows = integrator.get("/api/v1/surveys/").json()["results"]
    assert [r["slug"] for r in rows] == [survey.slug]
    assert rows[0]["public_url"].endswith(f"/s/{survey.slug}/")
    detail = integrator.get(f"/api/v1/surveys/{survey.pk}/").json()
    assert [q["key"] for q in detail["questions"]] == ["nps", "why"]
    assert detail["questions"][0]["scale"]["max"] == 10
    assert detail["questions"][1]["show_if"] == {"question": "nps", "op": "lte", "value": 6}


def test_post_creates_a_response_through_the_service(integrator):
    survey = make_survey()
    reply = integrator.post(
        responses_url(survey), {"answers": {"nps": 2, "why": "Slow"}}, format="json"
    )
    assert reply.status_code == 201
    body = reply.json()
    assert body["channel"] == "api" and body["answers"] == {"nps": 2, "why": "Slow"}
    assert Feedback.objects.get().source == f"survey:{survey.slug}"
    listed = integrator.get(responses_url(survey)).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]


def test_response_output_is_what_the_declared_fields_give():
    survey = make_survey()
    response, _ = services.submit_response(
        survey=survey,
        answers={"nps": 3, "why": "Slow"},
        channel="api",
        client_uuid=uuid.uuid4(),
        customer=CustomerFactory(),
        started_at=timezone.now() - dt.timedelta(minutes=2),
    )
    declared = serializers.ModelSerializer.to_representation(ResponseSerializer(), response)
    assert ResponseSerializer(response).data == declared
    assert declared["client_uuid"] and declared["customer"] and declared["started_at"]


def test_a_response_costs_the_same_queries_every_time(integrator, django_assert_num_queries):
    survey = make_survey()
    integrator.post(responses_url(survey), {"answers": {"nps": 9}}, format="json")
    # In the transaction's savepoint, one statement that locks the survey row and inserts
    # the response and its answers; the survey row and its questions are this process's
    # (kept from the first response).
    with django_assert_num_queries(3):
        reply = integrator.post(responses_url(survey), {"answers": {"nps": 8}}, format="json")
    assert reply.status_code == 201 and reply.json()["answers"] == {"nps": 8}


TWO_TEXTS = [
    {"key": "nps", "kind": "nps", "text": "Recommend us?", "required": True},
    {"key": "why", "kind": "long_text", "text": "Tell us more"},
    {"key": "fix", "kind": "short_text", "text": "What should we fix?"},
]


def test_text_answers_add_one_insert_for_all_their_feedback(integrator, django_assert_num_queries):
    survey = make_survey(questions=TWO_TEXTS)
    # (The first also looks up, once per process, who subscribes to the webhook events.)
    integrator.post(responses_url(survey), {"answers": {"nps": 9, "why": "Ok"}}, format="json")
    answers = {"nps": 3, "why": "Slow", "fix": "The checkout"}
    # As above: both feedback rows are inserted by the same statement (no savepoint,
    # no statement of their own).
    with django_assert_num_queries(3):
        reply = integrator.post(responses_url(survey), {"answers": answers}, format="json")
    assert reply.status_code == 201 and reply.json()["answers"] == answers
    assert sorted(Feedback.objects.values_list("text", flat=True)) == ["Ok", "Slow", "The checkout"]


def test_an_idempotency_key_adds_its_insert_and_its_update(integrator, django_assert_num_queries):
    survey = make_survey(questions=TWO_TEXTS)
    integrator.post(responses_url(survey), {"answers": {"nps": 9, "why": "Ok"}}, format="json")
    body = {"answers": {"nps": 3, "why": "Slow", "fix": "The checkout"}}
    # The record claimed with one INSERT … ON CONFLICT (no savepoint), the response in a
    # savepoint inside the record's transaction, the answer kept with one UPDATE.
    with django_assert_num_queries(7):
        first = integrator.post(
            responses_url(survey), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
    again = integrator.post(responses_url(survey), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Response.objects.count() == 2


def test_a_survey_id_beyond_any_key_is_not_found(integrator):
    for pk in (987654, 2**63, 10**30):
        reply = integrator.post(f"/api/v1/surveys/{pk}/responses/", {"answers": {}}, format="json")
        assert reply.status_code == 404, pk


def test_bad_answers_answer_400_keyed_by_question(integrator):
    survey = make_survey()
    reply = integrator.post(
        responses_url(survey), {"answers": {"nps": "eleven", "zzz": 1}}, format="json"
    )
    assert reply.status_code == 400
    body = reply.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"nps", "zzz"}
    reply = integrator.post(responses_url(survey), {"answers": ["not", "a", "dict"]}, format="json")
    assert reply.status_code == 400 and "answers" in reply.json()["errors"]
    reply = integrator.post(responses_url(survey), "{not json", content_type="application/json")
    assert reply.status_code == 400
    assert not Response.objects.exists()


def test_closed_survey_and_quota_answer_409(integrator):
    closed = make_survey(status=Survey.Status.CLOSED)
    reply = integrator.post(responses_url(closed), {"answers": {"nps": 9}}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (409, "closed")
    full = make_survey(response_quota=1)
    integrator.post(responses_url(full), {"answers": {"nps": 9}}, format="json")
    reply = integrator.post(responses_url(full), {"answers": {"nps": 9}}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (409, "quota")


def test_client_uuid_repeated_answers_200_with_the_same_response(integrator):
    survey = make_survey()
    payload = {"answers": {"nps": 9}, "client_uuid": str(uuid.uuid4())}
    first = integrator.post(responses_url(survey), payload, format="json")
    second = integrator.post(responses_url(survey), payload, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_idempotency_key_replays_the_first_answer(integrator):
    survey = make_survey()
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-42"}
    first = integrator.post(
        responses_url(survey), {"answers": {"nps": 9}}, format="json", **headers
    )
    again = integrator.post(
        responses_url(survey), {"answers": {"nps": 9}}, format="json", **headers
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Response.objects.count() == 1


def test_idempotency_key_with_another_body_answers_409(integrator):
    survey = make_survey()
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-43"}
    integrator.post(responses_url(survey), {"answers": {"nps": 9}}, format="json", **headers)
    reply = integrator.post(
        responses_url(survey), {"answers": {"nps": 1, "why": "x"}}, format="json", **headers
    )
    assert reply.status_code == 409
    assert reply.json()["code"] == "idempotency_conflict"
    assert "Idempotency-Key" in reply.json()["errors"]
    assert Response.objects.count() == 1


def test_idempotency_replays_a_validation_error_too(integrator):
    survey = make_survey()
    headers = {"HTTP_IDEMPOTENCY_KEY": "bad-1"}
    first = integrator.post(
        responses_url(survey), {"answers": {"nps": 99}}, format="json", **headers
    )
    again = integrator.post(
        responses_url(survey), {"answers": {"nps": 99}}, format="json", **headers
    )
    assert first.status_code == again.status_code == 400
    assert first.json() == again.json()


def test_idempotency_keys_are_per_client(integrator):
    survey = make_survey()
    other = key_client(["surveys:write"])
    headers = {"HTTP_IDEMPOTENCY_KEY": "same"}
    integrator.post(responses_url(survey), {"answers": {"nps": 9}}, format="json", **headers)
    reply = other.post(
        responses_url(survey), {"answers": {"nps": 5, "why": "meh"}}, format="json", **headers
    )
    assert reply.status_code == 201
    assert Response.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_store_one_response(postgres_required):
    survey = make_survey()
    _, raw = create_api_key(name="crm", scopes=["surveys:write"])
    barrier = threading.Barrier(4)
    statuses = []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        try:
            barrier.wait()
            reply = client.post(
                responses_url(survey),
                {"answers": {"nps": 9}},
                format="json",
                HTTP_IDEMPOTENCY_KEY="race",
            )
            statuses.append(reply.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 4
    assert Response.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_results_endpoint(integrator):
    survey = make_survey()
    for value in (10, 9, 2):
        payload = {"answers": {"nps": value, **({"why": "bad"} if value < 7 else {})}}
        integrator.post(responses_url(survey), payload, format="json")
    body = integrator.get(f"/api/v1/surveys/{survey.pk}/results/").json()
    assert body["response_count"] == 3
    nps = body["questions"][0]["nps"]
    assert nps["score"] == 33.3  # 2 promoters, 1 detractor of 3


# --- access -------------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere():
    survey = make_survey()
    client = APIClient()
    for url in (
        "/api/v1/surveys/",
        f"/api/v1/surveys/{survey.pk}/",
        f"/api/v1/surveys/{survey.pk}/results/",
        responses_url(survey),
    ):
        assert client.get(url).status_code == 401, url
    assert (
        client.post(responses_url(survey), {"answers": {"nps": 9}}, format="json").status_code
        == 401
    )


def test_scopes_are_enforced():
    survey = make_survey()
    reader = key_client(["surveys:read"])
    writer = key_client(["surveys:write"])
    feedback_only = key_client(["feedback:read", "feedback:write"])
    assert (
        reader.post(responses_url(survey), {"answers": {"nps": 9}}, format="json").status_code
        == 403
    )
    assert writer.get(responses_url(survey)).status_code == 403
    assert (
        writer.post(responses_url(survey), {"answers": {"nps": 9}}, format="json").status_code
        == 201
    )
    assert feedback_only.get("/api/v1/surveys/").status_code == 403


def test_people_need_the_permissions(client, outsider, staff_member, manager):
    survey = make_survey()
    api = APIClient()
    api.force_login(outsider)
    assert api.get("/api/v1/surveys/").status_code == 403
    assert (
        api.post(responses_url(survey), {"answers": {"nps": 9}}, format="json").status_code == 403
    )
    api.force_login(staff_member)
    assert api.get(f"/api/v1/surveys/{survey.pk}/results/").status_code == 200
    reply = api.post(responses_url(survey), {"answers": {"nps": 9}}, format="json")
    assert reply.status_code == 201
    assert Response.objects.get().collected_by == staff_member
    api.force_login(manager)
    assert api.get(responses_url(survey)).status_code == 200


def test_unknown_survey_is_404(integrator):
    assert integrator.get("/api/v1/surveys/9999/").status_code == 404
    assert (
        integrator.post(
            "/api/v1/surveys/9999/responses/", {"answers": {}}, format="json"
        ).status_code
        == 404
    )


def test_schema_is_valid_and_lists_the_survey_endpoints():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    for path in (
        "/api/v1/surveys/",
        "/api/v1/surveys/{id}/",
        "/api/v1/surveys/{id}/results/",
        "/api/v1/surveys/{id}/responses/",
    ):
        assert path in schema["paths"], path
    params = schema["paths"]["/api/v1/surveys/{id}/responses/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" for p in params)


def test_a_question_without_a_scale_answers_as_its_schema_says(integrator):
    survey = make_survey(
        questions=[{"key": "plan", "kind": "single", "text": "Your plan?", "choices": ["A", "B"]}]
    )
    question = integrator.get(f"/api/v1/surveys/{survey.pk}/").json()["questions"][0]
    assert question["scale"] is None
    schema = APIClient().get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert schema["Question"]["properties"]["scale"]["nullable"] is True
    assert schema["QuestionRecord"]["properties"]["scale"]["nullable"] is True


def test_expired_idempotency_records_are_purged(integrator):
    import datetime as dt

    from django.utils import timezone

    from surveys.idempotency import purge_expired

    survey = make_survey()
    integrator.post(
        responses_url(survey), {"answers": {"nps": 9}}, format="json", HTTP_IDEMPOTENCY_KEY="old"
    )
    integrator.post(
        responses_url(survey), {"answers": {"nps": 8}}, format="json", HTTP_IDEMPOTENCY_KEY="new"
    )
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert purge_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_a_submitted_at_or_started_at_without_time_zone_is_refused(integrator):
    survey = make_survey()
    naive = (timezone.now() - dt.timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    for field in ("submitted_at", "started_at"):
        reply = integrator.post(
            responses_url(survey), {"answers": {"nps": 9}, field: naive}, format="json"
        )
        assert reply.status_code == 400, field
        assert list(reply.json()["errors"]) == [field]
        assert "time zone" in reply.json()["errors"][field][0]
    assert not Response.objects.exists()


def test_a_time_before_the_survey_opened_is_refused(integrator):
    survey = make_survey()
    before = (survey.opened_at - dt.timedelta(minutes=1)).isoformat()
    for field in ("submitted_at", "started_at"):
        reply = integrator.post(
            responses_url(survey), {"answers": {"nps": 9}, field: before}, format="json"
        )
        assert reply.status_code == 400, field
        assert list(reply.json()["errors"]) == [field]
        assert "before the survey opened" in reply.json()["errors"][field][0]
    scheduled = make_survey(opens_at=timezone.now() - dt.timedelta(hours=1))
    Survey.objects.filter(pk=scheduled.pk).update(opened_at=timezone.now() - dt.timedelta(days=9))
    reply = integrator.post(
        responses_url(scheduled),
        {"answers": {"nps": 9}, "submitted_at": "2026-01-01T00:00:00Z"},
        format="json",
    )
    assert reply.status_code == 400 and list(reply.json()["errors"]) == ["submitted_at"]
    assert not Response.objects.exists()


def test_a_submitted_at_in_the_future_beyond_the_clock_skew_is_refused(integrator):
    survey = make_survey()
    late = timezone.now() + services.SUBMITTED_AT_CLOCK_SKEW + dt.timedelta(minutes=1)
    reply = integrator.post(
        responses_url(survey),
        {"answers": {"nps": 9}, "submitted_at": late.isoformat()},
        format="json",
    )
    assert reply.status_code == 400 and list(reply.json()["errors"]) == ["submitted_at"]
    skewed = timezone.now() + dt.timedelta(minutes=1)
    reply = integrator.post(
        responses_url(survey),
        {"answers": {"nps": 9}, "submitted_at": skewed.isoformat()},
        format="json",
    )
    assert reply.status_code == 201


def test_a_time_after_the_survey_opened_is_stored_as_given(integrator):
    survey = make_survey()
    started = survey.opened_at + dt.timedelta(seconds=1)
    submitted = survey.opened_at + dt.timedelta(seconds=30)
    reply = integrator.post(
        responses_url(survey),
        {
            "answers": {"nps": 9},
            "started_at": started.isoformat(),
            "submitted_at": submitted.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(),
        },
        format="json",
    )
    assert reply.status_code == 201
    stored = Response.objects.get()
    assert (stored.started_at, stored.submitted_at) == (started, submitted)
