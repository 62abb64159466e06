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
