"""Webhooks posted to a real receiver on this machine (an http.server thread): events of a
transaction queued together after the commit (savepoints respected), deliveries posted
signed in batches, failures retried one by one."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from feedback.inbox import bulk_update_triage
from feedback.models import Feedback
from feedback.services import record_feedback, record_feedback_batch
from feedback.tests.factories import FeedbackFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """Answers each POST with the next status of ``statuses`` (the last one repeats), and
    closes the connection after it unless ``keep_alive`` (HTTP/1.1); ``hang_up`` closes it
    anyway, without saying so."""

    def __init__(self, keep_alive: bool = False, hang_up: bool = False):
        self.requests: list[tuple[dict, bytes]] = []
        self.client_ports: list[int] = []
        self.statuses = [200]
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                receiver.client_ports.append(self.client_address[1])
                time.sleep(receiver.delay)
                status = receiver.statuses[min(len(receiver.requests), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if hang_up:
                    self.close_connection = True

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


def is_signed(secret: str, headers, body: bytes) -> bool:
    """Whether a delivery carries the signature its receiver checks."""
    timestamp = headers["X-FocusLoop-Timestamp"]
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return headers["X-FocusLoop-Signature"] == f"sha256={mac.hexdigest()}"


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
    assert is_signed(secret, headers, body)
    assert abs(int(headers["X-FocusLoop-Timestamp"]) - time.time()) < 60
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


# --- Events of a transaction together, deliveries in batches -------------------------


def deliveries(event):
    return list(WebhookDelivery.objects.filter(event=event).order_by("pk"))


def triage_in_bulk(rows, user, on_commit, **change):
    with on_commit() as callbacks:
        bulk_update_triage(user=user, feedback_ids=[r.pk for r in rows], **change)
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    return callbacks, queries


@pytest.mark.parametrize("size", [3, 40])
def test_a_bulk_triage_queues_every_row_from_one_callback_in_the_same_queries(
    size, receiver, queued, manager, staff_member, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["feedback.updated"])
    rows = [FeedbackFactory(assignee=staff_member) for _ in range(size)]
    rows[0].tags.create(name="billing")

    callbacks, queries = triage_in_bulk(
        rows, manager, django_capture_on_commit_callbacks, status="triaged", add_tags=["urgent"]
    )

    assert len(callbacks) == 1
    # The endpoints, the tags of every row, their assignees, one insert: whatever the size.
    assert len(queries) == 4, [q["sql"][:80] for q in queries]
    sent = deliveries("feedback.updated")
    assert [d.payload["id"] for d in sent] == [r.pk for r in rows]
    first = sent[0].payload
    assert first["tags"] == ["billing", "urgent"] and first["status"] == "triaged"
    assert first["assignee"] == staff_member.username
    assert first["changed"] == ["status", "tags"]
    assert all(d.payload["tags"] == ["urgent"] for d in sent[1:])
    # One task per endpoint and DELIVERY_BATCH deliveries.
    assert sorted(pk for pk, _ in queued) == [d.pk for d in sent]


def test_a_status_change_in_bulk_loads_nothing_the_triage_had_loaded(
    receiver, queued, manager, staff_member, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["feedback.updated"])
    rows = [FeedbackFactory() for _ in range(5)]

    _, queries = triage_in_bulk(
        rows, manager, django_capture_on_commit_callbacks, assignee=staff_member
    )

    assert len(queries) == 2  # the endpoints and the insert: tags and assignee are at hand
    assert {d.payload["assignee"] for d in deliveries("feedback.updated")} == {"sam_staff"}


def test_a_feedback_triaged_then_deleted_in_one_transaction_is_announced_deleted_only(
    receiver, queued, staff_member, django_capture_on_commit_callbacks
):
    from feedback.services import update_feedback_triage

    subscribe(receiver, events=["feedback.updated", "feedback.deleted"])
    kept, dropped = FeedbackFactory(), FeedbackFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        update_feedback_triage(feedback=kept, status="triaged")
        update_feedback_triage(feedback=dropped, assignee=staff_member)
        dropped_pk = dropped.pk
        dropped.delete()
    assert [d.payload["id"] for d in deliveries("feedback.updated")] == [kept.pk]
    assert [d.payload["id"] for d in deliveries("feedback.deleted")] == [dropped_pk]


def test_deleting_many_feedback_queues_their_events_from_one_callback(
    receiver, queued, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["feedback.deleted"])
    rows = [FeedbackFactory(external_id=f"Z-{n}") for n in range(6)]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Feedback.objects.filter(pk__in=[r.pk for r in rows]).delete()
    assert len(callbacks) == 1
    assert sorted(d.payload["external_id"] for d in deliveries("feedback.deleted")) == [
        f"Z-{n}" for n in range(6)
    ]


def test_events_of_a_rolled_back_savepoint_are_not_delivered(
    receiver, queued, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["alert.fired", "ping"])

    def fire(n):
        webhooks.emit("alert.fired", {"n": n})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            fire(1)
            with pytest.raises(RuntimeError), transaction.atomic():
                fire(2)
                webhooks.emit("ping", {"n": 2})
                raise RuntimeError
            fire(3)  # joins the batch of 1, which the rollback of 2 left in place
            with transaction.atomic():
                fire(4)
                with pytest.raises(RuntimeError), transaction.atomic():
                    fire(5)
                    raise RuntimeError
            with pytest.raises(RuntimeError), transaction.atomic():
                with transaction.atomic():
                    fire(6)  # its savepoint is released, the one around it rolled back
                raise RuntimeError
            fire(7)

    assert [d.payload["n"] for d in deliveries("alert.fired")] == [1, 3, 7, 4]
    assert deliveries("ping") == []
    assert len(callbacks) == 2  # the outer level's batch and the one of 4


def test_a_batch_opened_in_a_savepoint_rolled_back_is_not_joined_later(
    receiver, queued, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["alert.fired"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():
                webhooks.emit("alert.fired", {"n": 1})
                raise RuntimeError
            webhooks.emit("alert.fired", {"n": 2})
            with transaction.atomic(savepoint=False):
                webhooks.emit("alert.fired", {"n": 3})  # no savepoint: the same batch
    assert [d.payload["n"] for d in deliveries("alert.fired")] == [2, 3]
    assert len(callbacks) == 1


def test_without_subscribers_a_triage_change_costs_no_query(db, django_assert_num_queries):
    webhooks.forget_subscribers()
    assert webhooks.has_subscribers("feedback.updated") is False
    with django_assert_num_queries(0):
        webhooks.announce_feedback_updated(Feedback(pk=1, assignee_id=1), ["assignee"])


def test_a_batch_run_by_the_test_harness_is_not_joined_again(
    receiver, queued, django_capture_on_commit_callbacks
):
    subscribe(receiver, events=["alert.fired"])
    for n in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.emit("alert.fired", {"n": n})
    assert [d.payload["n"] for d in deliveries("alert.fired")] == [0, 1]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_batch_for_the_next_one(receiver, queued):
    subscribe(receiver, events=["alert.fired"])
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks.emit("alert.fired", {"n": 1})
        raise RuntimeError
    with transaction.atomic():
        webhooks.emit("alert.fired", {"n": 2})
        webhooks.emit("alert.fired", {"n": 3})
        assert deliveries("alert.fired") == []
    assert [d.payload["n"] for d in deliveries("alert.fired")] == [2, 3]
    webhooks.emit("alert.fired", {"n": 4})  # outside a transaction: at once
    assert [d.payload["n"] for d in deliveries("alert.fired")] == [2, 3, 4]
    assert len(queued) == 3


def test_a_batch_posts_each_delivery_signed_and_retries_only_the_failing_one(receiver, queued):
    endpoint, secret = subscribe(receiver, events=["alert.fired"])
    ids = webhooks.queue_deliveries(event="alert.fired", payloads=[{"n": n} for n in range(4)])
    receiver.statuses = [200, 503, 200]
    queued.clear()

    statuses = webhooks.deliver_webhooks(delivery_ids=ids)

    assert statuses == dict(
        zip(ids, ["succeeded", "pending", "succeeded", "succeeded"], strict=True)
    )
    assert queued == [(ids[1], 30)]
    posted = [(int(h["X-FocusLoop-Delivery"]), h, body) for h, body in receiver.requests]
    assert [pk for pk, _, _ in posted] == ids
    for pk, headers, body in posted:
        assert is_signed(secret, headers, body) and json.loads(body)["id"] == pk
    # The same message again (acks_late, a worker lost) posts nothing delivered twice.
    delivered = [ids[0], ids[2], ids[3]]
    assert set(webhooks.deliver_webhooks(delivery_ids=delivered).values()) == {"succeeded"}
    assert len(receiver.requests) == 4
    assert WebhookDelivery.objects.get(pk=ids[1]).attempts == 1


def test_a_hanging_receiver_ends_the_batch_early_and_queues_the_rest(
    receiver, queued, settings, monkeypatch
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    monkeypatch.setattr(webhooks, "BATCH_SECONDS", 1)  # starts posts for 0.7 s
    receiver.delay = 2
    subscribe(receiver, events=["alert.fired"])
    ids = webhooks.queue_deliveries(event="alert.fired", payloads=[{"n": n} for n in range(10)])
    queued.clear()

    statuses = webhooks.deliver_webhooks(delivery_ids=ids)

    tried = list(statuses)
    assert 1 <= len(tried) <= 4 and set(statuses.values()) == {"pending"}
    assert queued == [(pk, 30) for pk in tried] + [(pk, 0) for pk in ids[len(tried) :]]
    untouched = WebhookDelivery.objects.filter(pk__in=ids[len(tried) :])
    assert {(d.status, d.attempts) for d in untouched} == {("pending", 0)}


def test_deliveries_are_queued_in_tasks_of_one_endpoint_and_at_most_a_batch(receiver, monkeypatch):
    from api import tasks

    sent = []
    # The broker is the edge: the task's message is caught as it is sent.
    monkeypatch.setattr(
        tasks.deliver_webhooks_task, "apply_async", lambda args, countdown: sent.append(args[0])
    )
    subscribe(receiver, events=["alert.fired"])
    subscribe(receiver, events=["alert.fired"])
    ids = webhooks.queue_deliveries(
        event="alert.fired", payloads=[{"n": n} for n in range(webhooks.DELIVERY_BATCH + 5)]
    )
    per_endpoint = {}
    for batch in sent:
        endpoints = {d.endpoint_id for d in WebhookDelivery.objects.filter(pk__in=batch)}
        assert len(endpoints) == 1 and len(batch) <= webhooks.DELIVERY_BATCH
        per_endpoint.setdefault(endpoints.pop(), []).extend(batch)
    assert [len(b) for b in sent] == [webhooks.DELIVERY_BATCH, 5] * 2
    assert sorted(pk for batch in sent for pk in batch) == sorted(ids)
    assert len(per_endpoint) == 2


@pytest.mark.parametrize("hang_up", [False, True])
def test_a_batch_keeps_one_connection_open_while_the_receiver_allows_it(hang_up, settings, queued):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    webhooks.forget_subscribers()
    receiver = Receiver(keep_alive=True, hang_up=hang_up)
    try:
        subscribe(receiver, events=["alert.fired"])
        ids = webhooks.queue_deliveries(event="alert.fired", payloads=[{"n": n} for n in range(4)])
        statuses = webhooks.deliver_webhooks(delivery_ids=ids)
    finally:
        receiver.close()
        webhooks.forget_subscribers()
    assert set(statuses.values()) == {"succeeded"} and len(receiver.requests) == 4
    # A connection the receiver closed while idle is noticed before a post, not after.
    assert len(set(receiver.client_ports)) == (4 if hang_up else 1)
