import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import create_api_key


def key_client(scopes=None):
    """An API client authenticated with a new key (every scope unless told)."""
    _, raw = create_api_key(name="integration", scopes=scopes or list(ApiKey.Scope.values))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def person_client(user) -> APIClient:
    """An API client signed in as ``user`` (session authentication)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def integrator(db):
    return key_client()
