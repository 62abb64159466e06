"""``Idempotency-Key`` for API writes: the same key and request replay the first answer.

Usable by any endpoint (it knows nothing about surveys): the caller gives who is asking,
the key, a fingerprint of the request and a function producing ``(status, json body)``.
``api.middleware`` applies it to every POST under /api/v1/.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from .models import IdempotencyRecord

KEY_MAX_LENGTH = 255
IDEMPOTENCY_TTL = dt.timedelta(hours=24)


class IdempotencyConflict(Exception):
    """The key was used before with another request."""


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the request; JSON bodies are compared by content, not by spacing."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
        payload = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        payload = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\n", path.encode(), b"\n", payload):
        digest.update(part)
    return digest.hexdigest()


def kept_status(status: int) -> bool:
    """Answers worth replaying: not server errors, and not refusals (401, 403, 429) that a
    retry with new credentials or after a wait should get past."""
    return status < 500 and status not in {401, 403, 429}


def run_idempotent(
    *,
    scope: str,
    key: str,
    request_sha256: str,
    run: Callable[[], tuple[int, dict]],
    keep: Callable[[int], bool] = kept_status,
) -> Outcome:
    """Run ``run`` once per ``(scope, key)``; later calls get its stored result.

    The record is inserted before ``run`` inside one transaction: a concurrent request
    with the same key waits on the unique index until the first commits, then replays
    it. Answers ``keep`` refuses (server errors, refusals) roll everything back, so a retry
    runs again.
    Raises ``IdempotencyConflict`` when the key was used with another request.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope, key=key, request_sha256=request_sha256, status_code=0
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            if record.request_sha256 != request_sha256:
                raise IdempotencyConflict from None
            return Outcome(record.status_code, record.response_body, replayed=True)
        status, body = run()
        if not keep(status):
            transaction.set_rollback(True)
            return Outcome(status, body, replayed=False)
        record.status_code = status
        record.response_body = body
        record.save(update_fields=["status_code", "response_body"])
    return Outcome(status, body, replayed=False)


def purge_expired(*, now=None) -> int:
    """Delete records older than ``IDEMPOTENCY_TTL``; returns how many. A retry after that
    long runs again (clients are told keys hold for 24 hours)."""
    from django.utils import timezone

    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
