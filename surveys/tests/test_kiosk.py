"""Kiosk mode: the page, and the sync of responses queued offline."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys import services
from surveys.models import Response
from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return make_survey(title="Counter survey")


def sync_url(survey):
    return reverse("surveys:kiosk_sync", args=[survey.pk])


def item(nps=9, **extra):
    data = {
        "client_uuid": str(uuid.uuid4()),
        "answers": {"nps": nps},
        "submitted_at": timezone.now().isoformat(),
        "started_at": (timezone.now() - dt.timedelta(minutes=1)).isoformat(),
    }
    data.update(extra)
    return data


def sync(client, survey, items):
    return client.post(
        sync_url(survey), json.dumps({"responses": items}), content_type="application/json"
    )


def statuses(response):
    return [(r["status"], r.get("reason", "")) for r in response.json()["results"]]


def test_sync_stores_each_response_once_even_when_sent_again(client, staff_member, survey):
    client.force_login(staff_member)
    batch = [item(9), item(3, answers={"nps": 3, "why": "Queue too long"}), item(10)]

    first = sync(client, survey, batch)
    again = sync(client, survey, batch)

    assert first.status_code == 200
    assert statuses(first) == [("stored", "")] * 3
    assert statuses(again) == [("duplicate", "")] * 3
    assert again.json()["counts"] == {"stored": 0, "duplicate": 3, "refused": 0}
    assert Response.objects.count() == 3
    stored = Response.objects.order_by("id")
    assert {r.channel for r in stored} == {"kiosk"}
    assert {r.collected_by for r in stored} == {staff_member}
    assert {str(r.client_uuid) for r in stored} == {i["client_uuid"] for i in batch}


def test_refused_items_are_reported_with_their_reason_and_do_not_block_others(
    client, staff_member, survey
):
    client.force_login(staff_member)
    missing_why = item(2, answers={"nps": 2})
    out_of_scale = item(answers={"nps": 12})
    good = item(8)

    answered = sync(client, survey, [missing_why, out_of_scale, good, {"answers": {}}])

    results = answered.json()["results"]
    assert [r["status"] for r in results] == ["refused", "refused", "stored", "refused"]
    assert results[0]["reason"] == "invalid"
    assert results[0]["messages"] == {"why": ["This question requires an answer."]}
    assert "from 0 to 10" in results[1]["messages"]["nps"][0]
    assert results[3]["messages"]["client_uuid"]
    assert Response.objects.count() == 1


def test_sync_rechecks_closing_and_quota(client, staff_member):
    client.force_login(staff_member)
    survey = make_survey(title="Small survey", response_quota=2)

    over_quota = sync(client, survey, [item(), item(), item()])
    assert statuses(over_quota) == [("stored", ""), ("stored", ""), ("refused", "quota")]

    services.close_survey(survey=survey)
    closed = sync(client, survey, [item()])
    assert statuses(closed) == [("refused", "closed")]
    assert Response.objects.count() == 2


def test_a_stored_response_synced_again_after_closing_is_still_a_duplicate(
    client, staff_member, survey
):
    client.force_login(staff_member)
    batch = [item()]
    sync(client, survey, batch)
    services.close_survey(survey=survey)
    assert statuses(sync(client, survey, batch)) == [("duplicate", "")]


def test_client_times_are_clamped_to_now_and_to_the_opening(client, staff_member, survey):
    client.force_login(staff_member)
    future = item(submitted_at=(timezone.now() + dt.timedelta(days=2)).isoformat())
    ancient = item(submitted_at="2001-01-01T00:00:00+00:00", started_at="2000-12-31T23:00:00Z")
    garbage = item(submitted_at="yesterday", started_at=42)

    before = timezone.now()
    sync(client, survey, [future, ancient, garbage])
    after = timezone.now()

    stored = {str(r.client_uuid): r for r in Response.objects.all()}
    assert before <= stored[future["client_uuid"]].submitted_at <= after
    assert stored[ancient["client_uuid"]].submitted_at == survey.opened_at
    assert stored[ancient["client_uuid"]].started_at == survey.opened_at
    assert before <= stored[garbage["client_uuid"]].submitted_at <= after
    assert stored[garbage["client_uuid"]].started_at is None


@pytest.mark.parametrize(
    "body, field",
    [
        ("not json", None),
        (json.dumps([1, 2]), None),
        (json.dumps({"responses": "x"}), "responses"),
        (json.dumps({"responses": [{}] * 201}), "responses"),
    ],
)
def test_malformed_batches_get_a_400(client, staff_member, survey, body, field):
    client.force_login(staff_member)
    answered = client.post(sync_url(survey), body, content_type="application/json")
    assert answered.status_code == 400
    assert answered.json()["detail"]
    if field:
        assert field in answered.json()["errors"]
    assert Response.objects.count() == 0


def test_sync_roles(client, survey, outsider, staff_member):
    anonymous = sync(client, survey, [item()])
    assert anonymous.status_code == 401 and anonymous.json()["detail"]
    client.force_login(outsider)
    assert sync(client, survey, [item()]).status_code == 403
    assert Response.objects.count() == 0
    client.force_login(staff_member)
    assert client.get(sync_url(survey)).status_code == 405
    assert sync(client, survey, [item()]).status_code == 200


def test_sync_needs_the_csrf_token(staff_member, survey):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_member)
    browser.get(reverse("surveys:kiosk", args=[survey.pk]))  # sets the csrftoken cookie
    body = json.dumps({"responses": [item()]})

    refused = browser.post(sync_url(survey), body, content_type="application/json")
    accepted = browser.post(
        sync_url(survey),
        body,
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert Response.objects.count() == 1


def test_kiosk_page_roles_and_content(client, survey, outsider, staff_member):
    url = reverse("surveys:kiosk", args=[survey.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(staff_member)
    page = client.get(url)
    assert page.status_code == 200
    config = page.context["config"]
    assert config["collectedBy"] == "sam_staff"
    assert config["syncUrl"] == sync_url(survey)
    assert [q["key"] for q in config["questions"]] == ["nps", "why"]
    assert config["questions"][1]["show_if"] == {"question": "nps", "op": "lte", "value": 6}
    assert config["questions"][0]["points"][0] == {"value": 0, "label": "Not at all likely"}
    content = page.content.decode()
    assert 'id="kiosk-config"' in content and "Collected by" in content
    assert "<script>" not in content  # scripts are files; the config is JSON data


def test_kiosk_of_a_closed_survey_says_so(client, staff_member):
    survey = make_survey(title="Old survey", status="closed")
    client.force_login(staff_member)
    page = client.get(reverse("surveys:kiosk", args=[survey.pk]))
    assert page.status_code == 200
    assert page.context["config"]["accepting"] is False
    assert "not accepting responses" in page.content.decode()


def test_kiosk_service_worker_is_served_under_the_kiosk_path(
    client, outsider, staff_member, survey
):
    url = reverse("surveys:kiosk_worker", args=[survey.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(staff_member)
    worker = client.get(url)
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == reverse("surveys:kiosk", args=[survey.pk])
    assert b'addEventListener("fetch"' in worker.content
