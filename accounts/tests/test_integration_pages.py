import pytest
from django.urls import reverse

from accounts.models import ApiKey
from accounts.services import create_api_key
from api.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.urls("accounts.tests.urls")]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("name", ["accounts:api_keys", "accounts:webhooks"])
def test_only_admins_reach_the_integration_pages(client, staff_member, manager, outsider, name):
    url = reverse(name)
    assert client.get(url).status_code == 302  # to the login page
    for person in (outsider, staff_member, manager):
        client.force_login(person)
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "x"}).status_code in (403, 405)


def test_admin_creates_a_key_seen_once_then_revokes_it(admin_client, admin_user):
    created = admin_client.post(
        reverse("accounts:api_key_create"),
        {"name": "CRM <sync>", "scopes": ["feedback:read", "insights:read"]},
    )
    assert created.status_code == 201
    key = ApiKey.objects.get()
    raw = created.context["raw_key"]
    assert key.digest == ApiKey.digest_of(raw) and key.created_by == admin_user
    assert raw.encode() in created.content
    assert b"CRM &lt;sync&gt;" in created.content  # escaped

    page = admin_client.get(reverse("accounts:api_keys"))
    assert raw.encode() not in page.content
    assert key.prefix.encode() in page.content and b"feedback:read, insights:read" in page.content

    revoked = admin_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_bad_key_form_is_400_with_field_messages(admin_client):
    reply = admin_client.post(reverse("accounts:api_key_create"), {"name": "", "scopes": ["nope"]})
    assert reply.status_code == 400
    assert set(reply.context["form"].errors) == {"name", "scopes"}
    assert ApiKey.objects.count() == 0


def test_revoking_needs_post_and_csrf(client, admin_user):
    key, _ = create_api_key(name="x", scopes=[])
    client.force_login(admin_user)
    assert client.get(reverse("accounts:api_key_revoke", args=[key.pk])).status_code == 405
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(reverse("accounts:api_key_revoke", args=[key.pk])).status_code == 403


def test_key_list_query_count_is_bounded(admin_client, admin_user, django_assert_max_num_queries):
    for n in range(30):
        create_api_key(name=f"key {n}", scopes=["feedback:read"], created_by=admin_user)
    with django_assert_max_num_queries(8):
        page = admin_client.get(reverse("accounts:api_keys"))
    assert page.content.count(b"key ") >= 30


def test_admin_adds_a_webhook_sends_a_test_and_switches_it_off(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    created = admin_client.post(
        reverse("accounts:webhooks"),
        {"name": "crm", "url": "http://127.0.0.1:9/hook", "events": ["feedback.created"]},
    )
    assert created.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert created.context["secret"] == endpoint.secret
    assert endpoint.secret.encode() not in admin_client.get(reverse("accounts:webhooks")).content

    admin_client.post(reverse("accounts:webhook_action", args=[endpoint.pk, "test"]))
    assert WebhookDelivery.objects.get().event == "ping"
    detail = admin_client.get(reverse("accounts:webhook_detail", args=[endpoint.pk]))
    assert b"ping" in detail.content
    admin_client.post(reverse("accounts:webhook_action", args=[endpoint.pk, "disable"]))
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert (
        admin_client.post(
            reverse("accounts:webhook_action", args=[endpoint.pk, "explode"])
        ).status_code
        == 404
    )


def test_a_private_webhook_url_is_refused_on_the_form(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    reply = admin_client.post(
        reverse("accounts:webhooks"),
        {"name": "crm", "url": "http://127.0.0.1/hook", "events": ["feedback.created"]},
    )
    assert reply.status_code == 400 and "url" in reply.context["form"].errors
    assert WebhookEndpoint.objects.count() == 0
