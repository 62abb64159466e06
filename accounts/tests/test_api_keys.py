import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import authentication
from accounts.models import ApiKey
from accounts.services import create_api_key, revoke_api_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/feedback/"


@pytest.fixture(autouse=True)
def empty_key_memory():
    authentication._known_keys.clear()
    yield
    authentication._known_keys.clear()


def _client(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_key_seen_recently_costs_no_query(django_assert_num_queries):
    _, raw = create_api_key(name="crm", scopes=["feedback:read"])
    client = _client(raw)
    assert client.get(URL).status_code == 200
    with django_assert_num_queries(1):  # the page of feedback, no key lookup
        assert client.get(URL).status_code == 200


def test_revocation_applies_at_once_in_the_revoking_process():
    key, raw = create_api_key(name="crm", scopes=["feedback:read"])
    client = _client(raw)
    assert client.get(URL).status_code == 200
    revoke_api_key(key=key)
    assert client.get(URL).status_code == 401


def test_revocation_elsewhere_applies_within_the_cache_time(settings, monkeypatch):
    settings.API_KEY_CACHE_SECONDS = 10
    key, raw = create_api_key(name="crm", scopes=["feedback:read"])
    client = _client(raw)
    clock = [1000.0]
    monkeypatch.setattr("config.process_cache.time.monotonic", lambda: clock[0])
    assert client.get(URL).status_code == 200
    # Another process revokes it: this one still remembers the key for a while ...
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    clock[0] += 9
    assert client.get(URL).status_code == 200
    # ... and looks it up again once the time has passed.
    clock[0] += 2
    assert client.get(URL).status_code == 401


def test_expiry_is_checked_on_every_request_even_for_a_remembered_key():
    key, raw = create_api_key(
        name="crm", scopes=["feedback:read"], expires_at=timezone.now() + dt.timedelta(seconds=30)
    )
    client = _client(raw)
    assert client.get(URL).status_code == 200
    remembered = authentication._known_keys.get(key.digest)
    remembered.expires_at = timezone.now() - dt.timedelta(seconds=1)
    assert client.get(URL).status_code == 401


def test_no_memory_when_the_cache_time_is_zero(settings, django_assert_num_queries):
    settings.API_KEY_CACHE_SECONDS = 0
    key, raw = create_api_key(name="crm", scopes=["feedback:read"])
    client = _client(raw)
    assert client.get(URL).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(URL).status_code == 200
    settings.API_KEY_CACHE_SECONDS = 60  # nothing was stored meanwhile either
    assert authentication._known_keys.get(key.digest) is None
