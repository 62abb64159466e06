"""While the database is unreachable, pages and the API answer 503 with Retry-After."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def test_api_and_pages_answer_503_when_a_view_cannot_reach_the_database(staff_member):
    client = Client(raise_request_exception=False)
    client.force_login(staff_member)
    with mock.patch("feedback.inbox_views.feedback_list", side_effect=OperationalError("gone")):
        page = client.get("/inbox/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "briefly unavailable" in page.content.decode()
    with mock.patch("feedback.api.feedback_list", side_effect=OperationalError("gone")):
        api = client.get("/api/v1/feedback/")
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api.json()["code"] == "service_unavailable"


def test_an_outage_inside_a_middleware_is_a_503_too(staff_member):
    client = Client(raise_request_exception=False)
    client.force_login(staff_member)
    with mock.patch("api.middleware.run_idempotent", side_effect=OperationalError("gone")):
        api = client.post(
            "/api/v1/feedback/",
            {"text": "hi"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k-1",
        )
    assert api.status_code == 503 and api.json()["code"] == "service_unavailable"


def test_other_errors_stay_server_errors(staff_member):
    client = Client(raise_request_exception=False)
    client.force_login(staff_member)
    with mock.patch("feedback.inbox_views.feedback_list", side_effect=RuntimeError("bug")):
        assert client.get("/inbox/").status_code == 500
