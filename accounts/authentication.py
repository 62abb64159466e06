from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey

# last_used_at is written at most this often per key, not on every request.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiKeyUser(AnonymousUser):
    """The identity of a request made with an API key: it holds the key's scopes only."""

    def __init__(self, key: ApiKey):
        self.api_key = key

    @property
    def is_authenticated(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"api-key:{self.api_key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        # digest is unique: a plain lookup, usability checked here (cheaper to build than
        # the usable() filter, same result).
        key = next(iter(ApiKey.objects.filter(digest=ApiKey.digest_of(raw))[:1]), None)
        if key is None or not key.is_usable:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
