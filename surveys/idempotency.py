"""``Idempotency-Key`` for API writes: the same key and request replay the first answer.

Usable by any endpoint (it knows nothing about surveys): the caller gives who is asking,
the key, a fingerprint of the request and a function producing ``(status, json body)``.
``api.middleware`` applies it to every POST under /api/v1/.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.http import parse_header_parameters

from feedback.inserts import execute_prepared

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


def fingerprint(method: str, path: str, body: bytes, content_type: str = "") -> str:
    """SHA-256 of the request; JSON bodies are compared by content, not by spacing, and
    multipart bodies without their boundary (a client draws a new one for every try)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
        payload = canonical.encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = body
        media_type, parameters = parse_header_parameters(content_type)
        if media_type == "multipart/form-data" and parameters.get("boundary"):
            payload = body.replace(b"--" + parameters["boundary"].encode(), b"--")
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
        record_id = _claim(scope, key, request_sha256)
        if record_id is None:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            if record.request_sha256 != request_sha256:
                raise IdempotencyConflict
            return Outcome(record.status_code, record.response_body, replayed=True)
        status, body = run()
        if not keep(status):
            transaction.set_rollback(True)
            return Outcome(status, body, replayed=False)
        _keep_outcome(record_id, status, body)
    return Outcome(status, body, replayed=False)


@functools.cache
def _statements(vendor: str) -> tuple[str, str]:
    """The claim's INSERT and the outcome's UPDATE for this database (text built once)."""
    meta = IdempotencyRecord._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    column = {f.name: qn(f.column) for f in meta.concrete_fields}
    inserted = ("scope", "key", "request_sha256", "status_code", "response_body", "created_at")
    claim = (
        f"INSERT INTO {table} ({', '.join(column[name] for name in inserted)})"
        f" VALUES ({', '.join(['%s'] * len(inserted))})"
        f" ON CONFLICT ({column['scope']}, {column['key']}) DO NOTHING"
        f" RETURNING {column['id']}"
    )
    outcome = (
        f"UPDATE {table} SET {column['status_code']} = %s, {column['response_body']} = %s"
        f" WHERE {column['id']} = %s"
    )
    return claim, outcome


def _claim(scope: str, key: str, request_sha256: str) -> int | None:
    """Insert the record of ``(scope, key)`` and return its id, or None when it exists.

    One ``INSERT … ON CONFLICT DO NOTHING``: the unique index makes a concurrent insert
    of the same key wait for the first transaction's outcome (then this one inserts, or
    finds the committed record), without a savepoint around a failing insert.
    """
    field = IdempotencyRecord._meta.get_field
    params = [
        scope,
        key,
        request_sha256,
        0,
        field("response_body").get_db_prep_save({}, connection),
        field("created_at").get_db_prep_save(timezone.now(), connection),
    ]
    with connection.cursor() as cursor:
        execute_prepared(cursor, _statements(connection.vendor)[0], params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _keep_outcome(record_id: int, status: int, body: dict) -> None:
    field = IdempotencyRecord._meta.get_field
    params = [status, field("response_body").get_db_prep_save(body, connection), record_id]
    with connection.cursor() as cursor:
        execute_prepared(cursor, _statements(connection.vendor)[1], params)


def purge_expired(*, now=None) -> int:
    """Delete records older than ``IDEMPOTENCY_TTL``; returns how many. A retry after that
    long runs again (clients are told keys hold for 24 hours)."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
