"""Webhooks posted to a real receiver on this machine (an http.server thread)."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from feedback.services import record_feedback, record_feedback_batch

pytestmark = pytest.mark.django_db


class Receiver:
    """Answers each POST with the next status of ``statuses`` (the last one repeats)."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.statuses = [200]
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                time.sleep(receiver.delay)
                status = receiver.statuses[min(len(receiver.requests), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    webhooks.forget_subscribers()
    server = Receiver()
    yield server
    server.close()
    webhooks.forget_subscribers()


@pytest.fixture
def queued(monkeypatch):
    """Deliveries handed to the task queue, delivered by calling the service directly."""
    ids: list[tuple[int, int]] = []
    monkeypatch.setattr(
        webhooks, "_enqueue", lambda pks, countdown=0: ids.extend((pk, countdown) for pk in pks)
    )
    return ids


def subscribe(receiver, events=("feedback.created",)):
    return webhooks.create_endpoint(name="crm", url=receiver.url, events=list(events))


def test_new_feedback_is_posted_signed_after_commit(
    receiver, queued, django_capture_on_commit_callbacks
):
    endpoint, secret = subscribe(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        feedback = record_feedback(text="Invoices arrive twice", channel="api", source="crm")
    delivery = WebhookDelivery.objects.get()
    assert [pk for pk, _ in queued] == [delivery.pk]
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "succeeded"

    headers, body = receiver.requests[0]
    timestamp = headers["X-FocusLoop-Timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-FocusLoop-Signature"] == f"sha256={expected}"
    assert abs(int(timestamp) - time.time()) < 60
    event = json.loads(body)
    assert event["event"] == "feedback.created"
    assert event["data"]["id"] == feedback.pk and event["data"]["text"] == "Invoices arrive twice"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (1, 200) and delivery.delivered_at
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "succeeded"
    assert len(receiver.requests) == 1  # a repeated task posts nothing twice


def test_nothing_is_written_before_the_commit_or_for_other_events(
    receiver, queued, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["alert.fired"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_feedback(text="Not subscribed", channel="api")
    for callback in callbacks:
        callback()
    assert WebhookDelivery.objects.count() == 0


def test_a_batch_writes_one_delivery_per_stored_row(
    receiver, queued, django_capture_on_commit_callbacks
):
    subscribe(receiver)
    with django_capture_on_commit_callbacks(execute=True):
        results = record_feedback_batch(
            [{"text": t, "channel": "api"} for t in ("one", "", "three")]
        )
    stored = sorted(r.pk for r in results if not isinstance(r, ValidationError))
    assert sorted(d.payload["id"] for d in WebhookDelivery.objects.all()) == stored
    assert len(queued) == 2


def test_without_subscribers_emitting_costs_no_query(db, django_assert_num_queries):
    webhooks.forget_subscribers()
    assert webhooks.has_subscribers("feedback.created") is False
    with django_assert_num_queries(0):
        for _ in range(100):
            webhooks.emit("feedback.created", lambda: pytest.fail("payload built for nobody"))


def test_server_errors_and_timeouts_are_retried_with_backoff_then_given_up(
    receiver, queued, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    endpoint, _ = subscribe(receiver)
    delivery = webhooks.send_test_event(endpoint=endpoint)
    receiver.statuses = [503]
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "pending"
    receiver.statuses, receiver.delay = [200], 1.0  # answers too late
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and "reachable" in delivery.last_error
    assert [countdown for _, countdown in queued] == [30, 60]
    receiver.delay = 0
    receiver.statuses = [503]
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (3, 503)


def test_a_client_error_fails_at_once(receiver, queued):
    endpoint, _ = subscribe(receiver)
    receiver.statuses = [410]
    delivery = webhooks.send_test_event(endpoint=endpoint)
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "failed"
    assert queued == []


def test_an_endpoint_failing_in_a_row_is_switched_off(receiver, queued, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    endpoint, _ = subscribe(receiver)
    receiver.statuses = [500]
    for _ in range(2):
        delivery = webhooks.send_test_event(endpoint=endpoint)
        webhooks.deliver_webhook(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.active is False and "2 failed" in endpoint.disabled_reason
    assert webhooks.has_subscribers("feedback.created") is False
    webhooks.set_endpoint_active(endpoint=endpoint, active=True)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 0


def test_private_addresses_are_refused_outside_development(receiver, queued, settings):
    endpoint, _ = subscribe(receiver)
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationError) as refused:
        webhooks.create_endpoint(name="x", url="http://127.0.0.1:9/", events=["ping"])
    assert "url" in refused.value.message_dict
    with pytest.raises(ValidationError):
        webhooks.create_endpoint(name="x", url="ftp://example.com/", events=["ping"])
    delivery = webhooks.send_test_event(endpoint=endpoint)
    assert webhooks.deliver_webhook(delivery_id=delivery.pk) == "pending"
    assert receiver.requests == []
    assert "not a public address" in WebhookDelivery.objects.get().last_error


def test_lost_messages_are_queued_again_by_the_sweep(receiver, queued):
    import datetime as dt

    from django.utils import timezone

    endpoint, _ = subscribe(receiver)
    delivery = webhooks.send_test_event(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert webhooks.requeue_due_webhooks() == 1
    assert queued[-1][0] == delivery.pk


def test_unknown_events_and_empty_names_are_refused(db):
    with pytest.raises(ValidationError) as refused:
        webhooks.create_endpoint(name=" ", url="https://example.com/", events=["nope"])
    assert set(refused.value.message_dict) == {"name", "events"}
    assert WebhookEndpoint.objects.count() == 0
