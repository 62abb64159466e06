from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from config.process_cache import ProcessCache

from .models import ApiKey

# last_used_at is written at most this often per key, not on every request.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

# Keys found are remembered by each process for API_KEY_CACHE_SECONDS, so a busy
# integration costs no key query per request. A revocation or a change of scopes applies
# at once in the process that made it and everywhere else within that time; expiry is
# checked on every request. Unknown keys are never remembered.
_known_keys = ProcessCache(seconds=lambda: settings.API_KEY_CACHE_SECONDS, max_entries=1000)
KEYWORDS = ("bearer", "token")


def forget_key(digest: str) -> None:
    _known_keys.pop(digest)


def _lookup(digest: str) -> ApiKey | None:
    # digest is unique: a plain lookup, usability checked by the caller (cheaper to build
    # than the usable() filter, same result).
    return _known_keys.get_or_load(
        digest, lambda: next(iter(ApiKey.objects.filter(digest=digest)[:1]), None)
    )


def _raw_key(request) -> str | None:
    """The key in a ``Bearer``/``Token`` Authorization header; None without one.

    Raises ``AuthenticationFailed`` for a malformed header of that kind.
    """
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower().decode(errors="replace") not in KEYWORDS:
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Invalid authorization header.")
    try:
        return header[1].decode()
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("Invalid API key.") from None


def usable_key_for(request) -> ApiKey | None:
    """The usable key the request authenticates with, or None (no key, bad or revoked key).

    For code that runs before DRF authenticates (middleware); never raises.
    """
    try:
        raw = _raw_key(request)
    except exceptions.AuthenticationFailed:
        return None
    if raw is None:
        return None
    key = _lookup(ApiKey.digest_of(raw))
    return key if key is not None and key.is_usable else None


class ApiKeyUser(AnonymousUser):
    """The identity of a request made with an API key: it holds the key's scopes only."""

    def __init__(self, key: ApiKey):
        self.api_key = key

    @property
    def is_authenticated(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"api-key:{self.api_key.name}"


def acting_person(request):
    """The signed-in person behind a request, or None for an API key (keys are not users):
    what services record as "created by", "sent by", "collected by"."""
    return None if isinstance(request.user, ApiKeyUser) else request.user


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = _raw_key(request)
        if raw is None:
            return None
        key = _lookup(ApiKey.digest_of(raw))
        if key is None or not key.is_usable:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
