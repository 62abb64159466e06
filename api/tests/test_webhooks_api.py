"""Webhook endpoints managed over the API: admins only, the secret shown once, the delivery
log and a manual redeliver."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey
from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint

from .conftest import key_client, person_client
from .test_webhooks import Receiver

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def manager_key():
    return key_client(["webhooks:manage"])


def hook(url="https://example.com/hook", events=("feedback.created",)) -> WebhookEndpoint:
    endpoint, _ = webhooks.create_endpoint(name="crm", url=url, events=list(events))
    return endpoint


def test_only_the_webhooks_scope_and_admins_get_in(staff_member, manager, admin_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint = hook()
    refused = key_client([s for s in ApiKey.Scope.values if s != "webhooks:manage"])
    for path in (URL, f"{URL}{endpoint.pk}/", f"{URL}{endpoint.pk}/deliveries/"):
        assert refused.get(path).status_code == 403
        assert person_client(staff_member).get(path).status_code == 403
        assert person_client(manager).get(path).status_code == 403
        assert APIClient().get(path).status_code == 401
        assert person_client(admin_user).get(path).status_code == 200
        assert key_client(["webhooks:manage"]).get(path).status_code == 200
    assert refused.delete(f"{URL}{endpoint.pk}/").status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_the_secret_is_in_the_creation_answer_only(manager_key, receiver):
    created = manager_key.post(
        URL,
        {"name": "Help desk", "url": receiver.url, "events": ["feedback.created", "alert.fired"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["alert.fired", "feedback.created"] and body["active"] is True
    listed = manager_key.get(URL).json()["results"]
    assert [e["id"] for e in listed] == [endpoint.pk] and "secret" not in listed[0]
    assert "secret" not in manager_key.get(f"{URL}{endpoint.pk}/").json()


def test_an_admin_person_is_recorded_as_creator(admin_user, receiver):
    created = person_client(admin_user).post(
        URL, {"name": "BI", "url": receiver.url, "events": ["ping"]}, format="json"
    )
    # ``ping`` is sent to every endpoint: it is not an event one subscribes to.
    assert created.status_code == 400 and "events" in created.json()["errors"]
    created = person_client(admin_user).post(
        URL,
        {"name": "BI", "url": receiver.url, "events": ["idea.status_changed"], "active": False},
        format="json",
    )
    assert created.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.created_by == admin_user and endpoint.active is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "url": "not a url", "events": ["feedback.created"]}, "url"),
        ({"name": "x", "url": "ftp://example.com/", "events": ["feedback.created"]}, "url"),
        ({"name": "x", "url": "http://127.0.0.1:9/hook", "events": ["feedback.created"]}, "url"),
        ({"name": "x", "url": "https://example.com/", "events": ["feedback.exploded"]}, "events"),
        ({"name": "x", "url": "https://example.com/", "events": []}, "events"),
        ({"url": "https://example.com/", "events": ["feedback.created"]}, "name"),
    ],
)
def test_bad_urls_and_unknown_events_answer_400_with_the_field(
    manager_key, settings, payload, field
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    refused = manager_key.post(URL, payload, format="json")
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "invalid" and body["errors"][field], body
    assert WebhookEndpoint.objects.count() == 0


def test_an_endpoint_is_changed_switched_and_removed(manager_key, receiver):
    endpoint = hook(url=receiver.url)
    secret = endpoint.secret
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, consecutive_failures=20, disabled_reason="Switched off after 20."
    )
    changed = manager_key.patch(
        f"{URL}{endpoint.pk}/",
        {"events": ["feedback.created", "feedback.analysed"], "active": True},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    endpoint.refresh_from_db()
    assert endpoint.events == ["feedback.analysed", "feedback.created"]
    assert endpoint.active and endpoint.consecutive_failures == 0 and not endpoint.disabled_reason
    assert endpoint.secret == secret and endpoint.name == "crm"

    bad = manager_key.patch(f"{URL}{endpoint.pk}/", {"url": "gopher://x"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()["errors"]
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url

    WebhookDelivery.objects.create(endpoint=endpoint, event="ping", payload={})
    assert manager_key.delete(f"{URL}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert manager_key.get(f"{URL}{endpoint.pk}/").status_code == 404


def test_the_delivery_log_lists_status_codes_and_filters(
    manager_key, receiver, django_assert_max_num_queries
):
    endpoint = hook(url=receiver.url)
    for n in range(12):
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event="feedback.created",
            payload={"id": n},
            status=WebhookDelivery.Status.FAILED if n % 3 else WebhookDelivery.Status.SUCCEEDED,
            response_code=500 if n % 3 else 200,
            attempts=1,
        )
    path = f"{URL}{endpoint.pk}/deliveries/"
    manager_key.get(path)  # the key is looked up once, then remembered
    with django_assert_max_num_queries(3):
        page = manager_key.get(path, {"page_size": 5}).json()
    assert len(page["results"]) == 5 and page["next"]
    assert page["results"][0]["payload"] == {"id": 11}
    seen = [d["id"] for d in page["results"]]
    while page["next"]:
        page = manager_key.get(page["next"]).json()
        seen += [d["id"] for d in page["results"]]
    assert len(set(seen)) == 12
    failed = manager_key.get(path, {"status": "failed"}).json()["results"]
    assert len(failed) == 8 and {d["response_code"] for d in failed} == {500}
    created = manager_key.get(path, {"event": "feedback.created", "page_size": 20}).json()
    assert len(created["results"]) == 12
    unknown = manager_key.get(path, {"event": "feedback.create"})
    assert unknown.status_code == 400 and list(unknown.json()["errors"]) == ["event"]
    assert manager_key.get(f"{URL}999999/deliveries/").status_code == 404


def test_redeliver_sends_the_event_again_as_a_new_delivery(manager_key, receiver):
    endpoint = hook(url=receiver.url)
    failed = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="feedback.created",
        payload={"id": 7},
        status=WebhookDelivery.Status.FAILED,
        response_code=410,
        attempts=1,
    )
    answer = manager_key.post(f"{URL}{endpoint.pk}/deliveries/{failed.pk}/redeliver/")
    assert answer.status_code == 202, answer.json()
    again = WebhookDelivery.objects.get(pk=answer.json()["id"])
    assert again.pk != failed.pk and again.payload == {"id": 7}
    assert webhooks.deliver_webhook(delivery_id=again.pk) == WebhookDelivery.Status.SUCCEEDED
    headers, body = receiver.requests[-1]
    assert headers["X-FocusLoop-Event"] == "feedback.created" and b'"id":7' in body
    failed.refresh_from_db()
    assert failed.status == WebhookDelivery.Status.FAILED and failed.response_code == 410


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_redeliver_is_queued_after_the_commit(manager_key, receiver, celery_worker):
    """A real worker on Redis posts the new delivery, and only once the request commits."""
    import time

    from django.db import transaction

    from conftest import wait_until

    endpoint = hook(url=receiver.url)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="ping", payload={})
    with transaction.atomic():
        answer = manager_key.post(f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
        assert answer.status_code == 202
        time.sleep(1)  # the worker is running: had the task been sent, it would have run
        assert receiver.requests == []
    assert wait_until(lambda: len(receiver.requests) == 1)
    headers, _ = receiver.requests[0]
    assert headers["X-FocusLoop-Delivery"] == str(answer.json()["id"])
    assert wait_until(
        lambda: WebhookDelivery.objects.get(pk=answer.json()["id"]).status == "succeeded"
    )


def test_redeliver_to_a_switched_off_endpoint_is_a_conflict(manager_key, receiver):
    endpoint = hook(url=receiver.url)
    webhooks.set_endpoint_active(endpoint=endpoint, active=False)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="feedback.created", payload={}
    )
    refused = manager_key.post(f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert refused.status_code == 409 and refused.json()["code"] == "switched_off"
    assert WebhookDelivery.objects.count() == 1
    other = hook(url=receiver.url)
    elsewhere = manager_key.post(f"{URL}{other.pk}/deliveries/{delivery.pk}/redeliver/")
    assert elsewhere.status_code == 404


def test_only_the_webhooks_scope_and_admins_send_a_test_event(
    staff_member, manager, admin_user, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint = hook()
    path = f"{URL}{endpoint.pk}/test/"
    refused = key_client([s for s in ApiKey.Scope.values if s != "webhooks:manage"])
    assert refused.post(path).status_code == 403
    assert person_client(staff_member).post(path).status_code == 403
    assert person_client(manager).post(path).status_code == 403
    assert APIClient().post(path).status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert person_client(admin_user).post(path).status_code == 202
    assert key_client(["webhooks:manage"]).post(path).status_code == 202
    assert WebhookDelivery.objects.filter(event="ping").count() == 2
    assert key_client(["webhooks:manage"]).post(f"{URL}{endpoint.pk + 1}/test/").status_code == 404


def test_a_test_event_is_a_signed_ping_answered_with_its_delivery(
    manager_key, receiver, django_capture_on_commit_callbacks
):
    from .test_webhooks import is_signed

    endpoint, secret = webhooks.create_endpoint(
        name="crm", url=receiver.url, events=["alert.fired"]
    )
    with django_capture_on_commit_callbacks() as callbacks:
        answer = manager_key.post(f"{URL}{endpoint.pk}/test/")
    assert answer.status_code == 202, answer.json()
    body = answer.json()
    assert (body["endpoint"], body["event"], body["status"]) == (endpoint.pk, "ping", "pending")
    assert len(callbacks) == 1  # queued once the request commits
    assert webhooks.deliver_webhook(delivery_id=body["id"]) == "succeeded"
    headers, posted = receiver.requests[-1]
    assert headers["X-FocusLoop-Event"] == "ping" and is_signed(secret, headers, posted)
    assert headers["X-FocusLoop-Delivery"] == str(body["id"])


def test_a_switched_off_endpoint_still_gets_a_test_event(manager_key, receiver):
    endpoint = hook(url=receiver.url)
    webhooks.set_endpoint_active(endpoint=endpoint, active=False)
    sent = manager_key.post(f"{URL}{endpoint.pk}/test/")
    assert sent.status_code == 202 and sent.json()["event"] == "ping"
    assert list(WebhookDelivery.objects.values_list("endpoint", "event")) == [(endpoint.pk, "ping")]
    # Other events still skip it.
    webhooks.queue_deliveries(event="feedback.created", payloads=[{"id": 1}])
    assert WebhookDelivery.objects.count() == 1
