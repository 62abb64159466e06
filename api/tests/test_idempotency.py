import re
import threading

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from feedback.models import Feedback
from surveys.models import IdempotencyRecord, Response
from surveys.tests.factories import make_survey

from .conftest import key_client

pytestmark = pytest.mark.django_db
FEEDBACK_URL = "/api/v1/feedback/"


def post(client, url, data, key, **extra):
    return client.post(url, data, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_feedback_create_retried_with_the_same_key_is_stored_once(integrator):
    first = post(integrator, FEEDBACK_URL, {"text": "Checkout is slow"}, "fb-1")
    again = post(integrator, FEEDBACK_URL, {"text": "Checkout is slow"}, "fb-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Feedback.objects.count() == 1


def test_same_key_with_another_body_is_409_in_the_error_shape(integrator):
    post(integrator, FEEDBACK_URL, {"text": "one"}, "fb-2")
    reply = post(integrator, FEEDBACK_URL, {"text": "two"}, "fb-2")
    assert reply.status_code == 409
    assert reply.json() == {
        "errors": {
            "Idempotency-Key": [
                "This key was already used for another request (method, address or body differ)."
            ]
        },
        "code": "idempotency_conflict",
    }
    assert list(Feedback.objects.values_list("text", flat=True)) == ["one"]


def test_json_spacing_and_key_order_do_not_count_as_another_body(integrator):
    integrator.post(
        FEEDBACK_URL,
        '{"text": "same", "source": "crm"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="fb-3",
    )
    reply = integrator.post(
        FEEDBACK_URL,
        '{"source":"crm","text":"same"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="fb-3",
    )
    assert reply.status_code == 201 and reply["Idempotent-Replayed"] == "true"
    assert Feedback.objects.count() == 1


def test_a_multipart_upload_retried_with_a_new_boundary_is_replayed(integrator):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import encode_multipart

    from feedback.models import ReviewImport

    def upload(boundary, csv=b"review,rating\nGreat,5\n"):
        data = {
            "file": SimpleUploadedFile("reviews.csv", csv),
            "source": "google",
            "rating_scale": "1-5",
        }
        return integrator.post(
            "/api/v1/review-imports/",
            encode_multipart(boundary, data),
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = upload("first-try-b0undary")
    again = upload("second-try-b0undary")
    assert first.status_code == again.status_code == 202, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert upload("third-try", b"review,rating\nPoor,1\n").status_code == 409
    assert ReviewImport.objects.count() == 1


def test_a_body_past_the_form_memory_limit_is_taken_with_a_key(integrator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    items = {"items": [{"text": f"Slow checkout, ticket {n}"} for n in range(60)]}
    first = post(integrator, "/api/v1/feedback/bulk/", items, "big-1")
    again = post(integrator, "/api/v1/feedback/bulk/", items, "big-1")
    assert first.status_code == again.status_code == 200, first.content
    assert first.json()["created"] == 60 and again["Idempotent-Replayed"] == "true"
    assert Feedback.objects.count() == 60


def test_keys_are_kept_apart_per_api_key(integrator):
    other = key_client(["feedback:write"])
    post(integrator, FEEDBACK_URL, {"text": "from one"}, "shared")
    reply = post(other, FEEDBACK_URL, {"text": "from two"}, "shared")
    assert reply.status_code == 201
    assert Feedback.objects.count() == 2


def test_a_refusal_is_not_stored_so_a_retry_with_rights_goes_through():
    reader = key_client(["feedback:read"])
    assert post(reader, FEEDBACK_URL, {"text": "x"}, "k").status_code == 403
    assert IdempotencyRecord.objects.count() == 0


def test_overlong_key_is_400(integrator):
    reply = post(integrator, FEEDBACK_URL, {"text": "x"}, "k" * 256)
    assert reply.status_code == 400
    assert reply.json()["code"] == "invalid" and "Idempotency-Key" in reply.json()["errors"]
    assert Feedback.objects.count() == 0


def test_bulk_retried_with_the_same_key_creates_nothing_new(integrator):
    body = {"items": [{"text": "a", "external_id": "1", "source": "s"}, {"text": ""}]}
    first = post(integrator, f"{FEEDBACK_URL}bulk/", body, "bulk-1")
    again = post(integrator, f"{FEEDBACK_URL}bulk/", body, "bulk-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["created"] == 1
    assert Feedback.objects.count() == 1


def test_survey_response_retried_with_the_same_key_is_stored_once(integrator):
    survey = make_survey()
    url = f"/api/v1/surveys/{survey.pk}/responses/"
    first = post(integrator, url, {"answers": {"nps": 9}}, "resp-1")
    again = post(integrator, url, {"answers": {"nps": 9}}, "resp-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Response.objects.count() == 1


def _post_routes(resolver=None, prefix=""):
    """Every address under /api/v1/ whose view answers POST, with ids filled in."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _post_routes(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None and hasattr(view_class, "post"):
                yield "/" + re.sub(r"<(?:\w+:)?\w+>", "999999", route).lstrip("^").rstrip("$")


def test_every_post_route_replays_and_refuses_a_changed_body(integrator):
    """Walks the URLconf, so an endpoint added later is covered without a new test."""
    routes = sorted(set(_post_routes()))
    assert "/api/v1/feedback/" in routes and len(routes) >= 5
    for url in routes:
        key = f"walk:{url}"
        first = post(integrator, url, {"probe": 1}, key)
        again = post(integrator, url, {"probe": 1}, key)
        assert first.status_code < 500, (url, first.content)
        assert (again.status_code, again.json()) == (first.status_code, first.json()), url
        assert again["Idempotent-Replayed"] == "true", url
        changed = post(integrator, url, {"probe": 2}, key)
        assert changed.status_code == 409, url
        assert changed.json()["code"] == "idempotency_conflict", url


def test_every_post_operation_documents_the_header(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    posts = [op for ops in paths.values() for method, op in ops.items() if method == "post"]
    assert posts
    for operation in posts:
        assert any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_feedback(postgres_required):
    client_key = key_client(["feedback:write"])
    raw = client_key._credentials["HTTP_AUTHORIZATION"]
    barrier = threading.Barrier(4)
    replies = []

    def send():
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=raw)
        try:
            barrier.wait()
            replies.append(post(client, FEEDBACK_URL, {"text": "race"}, "race-1"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in replies) == [201] * 4
    assert len({r.json()["id"] for r in replies}) == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in replies) == 3
    assert Feedback.objects.count() == 1


def test_purge_forgets_records_past_a_day(integrator):
    import datetime as dt

    from django.utils import timezone

    from surveys.idempotency import purge_expired

    post(integrator, FEEDBACK_URL, {"text": "old"}, "old")
    post(integrator, FEEDBACK_URL, {"text": "new"}, "new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert purge_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
