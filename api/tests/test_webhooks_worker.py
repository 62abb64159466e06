"""Webhooks on real parts: an API request, Redis as the broker, a Celery worker posting
to a receiver on this machine."""

import json

import pytest

from api import webhooks
from api.models import WebhookDelivery
from conftest import wait_until

from .conftest import key_client
from .test_webhooks import Receiver

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_feedback_posted_over_the_api_reaches_the_receiver_through_a_worker(
    settings, celery_worker
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = Receiver()
    try:
        webhooks.forget_subscribers()
        webhooks.create_endpoint(name="crm", url=receiver.url, events=["feedback.created"])
        reply = key_client(["feedback:write"]).post(
            "/api/v1/feedback/", {"text": "Webhook me"}, format="json"
        )
        assert reply.status_code == 201
        assert wait_until(lambda: receiver.requests)
        assert wait_until(
            lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), timeout=10
        )
        _, body = receiver.requests[0]
        assert json.loads(body)["data"]["id"] == reply.json()["id"]
    finally:
        receiver.close()
        webhooks.forget_subscribers()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    webhooks.forget_subscribers()
    server = Receiver()
    yield server
    server.close()
    webhooks.forget_subscribers()


def test_a_receiver_failing_twice_gets_the_event_on_the_third_try(
    settings, receiver, celery_worker
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1  # 1 s, then 2 s: the back-off, shortened
    receiver.statuses = [503, 500, 200]
    webhooks.create_endpoint(name="crm", url=receiver.url, events=["feedback.created"])
    reply = key_client(["feedback:write"]).post(
        "/api/v1/feedback/", {"text": "Third time lucky"}, format="json"
    )
    assert reply.status_code == 201
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), timeout=20
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.response_code) == (3, 200)
    assert len(receiver.requests) == 3
    bodies = {body for _, body in receiver.requests}
    assert len(bodies) == 1  # the same event each time
    assert json.loads(bodies.pop())["data"]["id"] == reply.json()["id"]


def test_a_receiver_that_never_answers_does_not_slow_the_api(settings, receiver, celery_worker):
    import time

    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.delay = 30  # holds every request far past the timeout
    webhooks.create_endpoint(name="dead", url=receiver.url, events=["feedback.created"])
    client = key_client(["feedback:write"])
    timings = []
    for n in range(3):
        started = time.monotonic()
        reply = client.post("/api/v1/feedback/", {"text": f"Still fast {n}"}, format="json")
        timings.append(time.monotonic() - started)
        assert reply.status_code == 201
    assert max(timings) < 1.0  # the worker waits on the receiver, never the request
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(status="failed").count() == 3, timeout=30
    )
    assert all(
        "reachable" in d.last_error or "timed out" in d.last_error.lower()
        for d in WebhookDelivery.objects.all()
    )


def test_triage_changes_and_deletions_reach_the_receiver(receiver, celery_worker, staff_member):
    from feedback.models import Feedback
    from feedback.services import record_feedback, update_feedback_triage

    webhooks.create_endpoint(
        name="desk", url=receiver.url, events=["feedback.updated", "feedback.deleted"]
    )
    feedback = record_feedback(
        text="Refund missing", channel="api", source="desk", external_id="T-9"
    )
    update_feedback_triage(
        feedback=feedback, status="triaged", assignee=staff_member, tags=["billing"]
    )
    assert wait_until(lambda: len(receiver.requests) == 1)
    updated = json.loads(receiver.requests[0][1])
    assert updated["event"] == "feedback.updated"  # feedback.created is not subscribed
    data = updated["data"]
    assert data["id"] == feedback.pk and data["status"] == "triaged"
    assert data["assignee"] == staff_member.username and data["tags"] == ["billing"]
    assert data["changed"] == ["status", "assignee", "tags"]

    pk = feedback.pk
    Feedback.objects.filter(pk=pk).delete()
    assert wait_until(lambda: len(receiver.requests) == 2)
    deleted = json.loads(receiver.requests[1][1])
    assert deleted["event"] == "feedback.deleted"
    assert deleted["data"] == {"id": pk, "channel": "api", "source": "desk", "external_id": "T-9"}


def test_a_burst_is_posted_in_batches_once_each_and_a_refused_post_is_retried_alone(
    settings, receiver, celery_worker
):
    from collections import Counter

    from .test_webhooks import is_signed

    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    receiver.statuses = [200, 503, 200]  # the second post is refused once
    _, secret = webhooks.create_endpoint(name="crm", url=receiver.url, events=["feedback.created"])
    size = webhooks.DELIVERY_BATCH + 10  # two tasks
    reply = key_client(["feedback:write"]).post(
        "/api/v1/feedback/bulk/",
        {"items": [{"text": f"Burst {n}"} for n in range(size)]},
        format="json",
    )
    assert reply.status_code == 200
    assert wait_until(
        lambda: WebhookDelivery.objects.filter(status="succeeded").count() == size, timeout=30
    )
    posts = Counter(int(headers["X-FocusLoop-Delivery"]) for headers, _ in receiver.requests)
    assert len(posts) == size and sorted(posts.values()) == [1] * (size - 1) + [2]
    assert all(is_signed(secret, headers, body) for headers, body in receiver.requests)
    retried = WebhookDelivery.objects.get(pk=posts.most_common(1)[0][0])
    assert retried.attempts == 2
    assert set(
        WebhookDelivery.objects.exclude(pk=retried.pk).values_list("attempts", flat=True)
    ) == {1}
