"""Throttling, pagination and the one error shape, across endpoints."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory
from surveys.tests.factories import make_survey

from .conftest import key_client

pytestmark = pytest.mark.django_db
FEEDBACK_URL = "/api/v1/feedback/"
SCHEMA = "/api/v1/schema/?format=json"


def assert_error_shape(response, status, code):
    assert response.status_code == status, response.content
    assert "json" in response["Content-Type"]
    body = response.json()
    assert set(body) == {"errors", "code"} and body["code"] == code
    assert body["errors"] and all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in body["errors"].values()
    )


@pytest.fixture
def small_rates(settings):
    cache.clear()
    # Windows of an hour and a day: the counters are fixed windows, and a test whose
    # requests straddled a minute boundary (the schema takes seconds under load) would
    # start counting again.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "3/hour", "api_user": "3/hour", "api_anon": "1/day"},
    }
    yield
    cache.clear()


def test_each_key_has_its_own_rate_and_a_refusal_says_when_to_retry(small_rates):
    first, second = key_client(["feedback:read"]), key_client(["feedback:read"])
    assert [first.get(FEEDBACK_URL).status_code for _ in range(3)] == [200] * 3
    refused = first.get(FEEDBACK_URL)
    assert_error_shape(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert second.get(FEEDBACK_URL).status_code == 200


def test_anonymous_clients_are_limited_per_ip(small_rates):
    anonymous = APIClient()
    assert anonymous.get(SCHEMA, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert_error_shape(anonymous.get(SCHEMA, REMOTE_ADDR="10.0.0.1"), 429, "throttled")
    assert anonymous.get(SCHEMA, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_throttled_post_is_not_replayed_later(small_rates, integrator):
    for _ in range(3):
        integrator.get(FEEDBACK_URL)
    body = {"text": "later"}
    refused = integrator.post(FEEDBACK_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert refused.status_code == 429
    cache.clear()
    accepted = integrator.post(FEEDBACK_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert accepted.status_code == 201
    assert Feedback.objects.count() == 1


def test_every_kind_of_error_has_the_one_shape(integrator, outsider):
    feedback = FeedbackFactory()
    assert_error_shape(APIClient().get(FEEDBACK_URL), 401, "not_authenticated")
    reader = key_client(["surveys:read"])
    assert_error_shape(reader.get(FEEDBACK_URL), 403, "permission_denied")
    session = APIClient()
    session.force_login(outsider)
    assert_error_shape(session.get("/api/v1/surveys/"), 403, "permission_denied")
    assert_error_shape(integrator.get(f"{FEEDBACK_URL}999999/"), 404, "not_found")
    assert_error_shape(integrator.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error_shape(
        integrator.delete(f"{FEEDBACK_URL}{feedback.pk}/"), 405, "method_not_allowed"
    )
    assert_error_shape(
        integrator.post(FEEDBACK_URL, "text=x", content_type="text/plain"),
        415,
        "unsupported_media_type",
    )
    assert_error_shape(
        integrator.post(FEEDBACK_URL, "{oops", content_type="application/json"), 400, "parse_error"
    )
    assert_error_shape(integrator.post(FEEDBACK_URL, {}, format="json"), 400, "invalid")
    too_big_a_form = "text=" + "x" * 3_000_000
    assert_error_shape(
        integrator.post(
            FEEDBACK_URL, too_big_a_form, content_type="application/x-www-form-urlencoded"
        ),
        400,
        "bad_request",
    )
    survey = make_survey()
    assert_error_shape(
        integrator.post(
            f"/api/v1/surveys/{survey.pk}/responses/", {"answers": "no"}, format="json"
        ),
        400,
        "invalid",
    )


def test_a_server_error_under_the_api_is_json(integrator, monkeypatch):
    from feedback import api

    def broken():
        raise RuntimeError("database on fire")

    monkeypatch.setattr(api, "feedback_list", broken)
    client = integrator
    client.raise_request_exception = False
    assert_error_shape(client.get(FEEDBACK_URL), 500, "server_error")


def test_feedback_list_walks_by_cursor_without_repeats(integrator):
    rows = [FeedbackFactory(text=f"row {n}") for n in range(7)]
    seen, url, pages = [], FEEDBACK_URL + "?page_size=3", 0
    while url:
        page = integrator.get(url).json()
        assert "count" not in page
        seen += [row["id"] for row in page["results"]]
        url, pages = page["next"], pages + 1
        FeedbackFactory(text="written while walking")  # newer rows never shift the walk
    assert pages == 3
    assert sorted(seen) == sorted(r.pk for r in rows)


def test_numbered_pages_remain_for_older_clients_and_unstable_orders(integrator):
    for n in range(5):
        FeedbackFactory(text=f"row {n}")
    numbered = integrator.get(FEEDBACK_URL, {"page": 2, "page_size": 2}).json()
    assert numbered["count"] == 5 and len(numbered["results"]) == 2
    by_score = integrator.get(FEEDBACK_URL, {"ordering": "sentiment_score"}).json()
    assert by_score["count"] == 5
    assert_error_shape(integrator.get(FEEDBACK_URL, {"cursor": "garbage"}), 404, "not_found")


def test_feedback_list_query_count_is_bounded_on_a_cursor_page(
    integrator, django_assert_max_num_queries
):
    for n in range(30):
        FeedbackFactory(text=f"row {n}")
    first = integrator.get(FEEDBACK_URL, {"page_size": 10}).json()
    with django_assert_max_num_queries(5):
        second = integrator.get(first["next"])
    assert len(second.json()["results"]) == 10


def test_search_is_documented_only_where_it_searches(client):
    paths = client.get(SCHEMA).json()["paths"]

    def parameters(path):
        return {p["name"] for p in paths[path]["get"]["parameters"]}

    assert "search" in parameters("/api/v1/customers/")
    assert "search" in parameters("/api/v1/surveys/")
    for path in ("/api/v1/feedback/", "/api/v1/focus-groups/", "/api/v1/review-imports/"):
        assert "search" not in parameters(path), path


@pytest.mark.parametrize("key", [None, "deep-1"])
def test_json_nested_too_deeply_is_a_parse_error(key):
    client = key_client()
    body = '{"text": "x", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post(FEEDBACK_URL, body, content_type="application/json", **extra)
    assert_error_shape(response, 400, "parse_error")
    assert not Feedback.objects.exists()
