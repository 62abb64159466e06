"""Webhooks: events from the services, signed deliveries to the endpoints subscribed.

``emit(event, payload)`` is called by a service inside its transaction; after the commit
one delivery row per subscribed endpoint is written and a task posts it. The events of a
kind from one transaction are written together, from one ``on_commit`` callback, and a
task posts up to ``DELIVERY_BATCH`` deliveries of one endpoint. When no active endpoint
subscribes to the event (the usual case), ``emit`` costs no query: each process remembers
which events have subscribers for ``WEBHOOK_SUBSCRIBERS_CACHE_SECONDS``.

A receiver checks ``X-FocusLoop-Signature: sha256=<hex>``, the HMAC-SHA256 with the
endpoint's secret of ``"<X-FocusLoop-Timestamp>.<raw body>"``, and refuses old timestamps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import select
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.process_cache import ProcessCache

from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-FocusLoop-Signature"
TIMESTAMP_HEADER = "X-FocusLoop-Timestamp"
EVENT_HEADER = "X-FocusLoop-Event"
DELIVERY_HEADER = "X-FocusLoop-Delivery"
USER_AGENT = "FocusLoop webhooks"
# A delivery claimed longer ago than this belongs to a worker that died mid-post.
STALE_CLAIM = dt.timedelta(minutes=5)
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 6 * 3600
SWEEP_BATCH = 500
# Deliveries one task posts, one after another; it starts no post after BATCH_SECONDS
# minus the timeout and queues the rest as a new task.
DELIVERY_BATCH = 50
BATCH_SECONDS = 90
# Bytes of a receiver's answer read; a longer one closes the connection.
ANSWER_READ_LIMIT = 64 * 1024

_subscribers = ProcessCache(
    seconds=lambda: _setting("WEBHOOK_SUBSCRIBERS_CACHE_SECONDS", 10), max_entries=1000
)


def _setting(name: str, default):
    return getattr(settings, name, default)


def forget_subscribers() -> None:
    """Drop this process's memory of which events have subscribers (after a change)."""
    _subscribers.clear()


def has_subscribers(event: str) -> bool:
    """Whether an active endpoint subscribes to ``event``; one query per event and process
    every ``WEBHOOK_SUBSCRIBERS_CACHE_SECONDS``."""
    return _subscribers.get_or_load(event, lambda: _subscribed_endpoints(event).exists())


def _subscribed_endpoints(event: str):
    return WebhookEndpoint.objects.filter(active=True).filter(
        Q(events__contains=[event]) if _supports_json_contains() else Q()
    )


def _supports_json_contains() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def emit(event: str, payload: dict | Callable[[], dict]) -> None:
    """Announce ``event`` to its subscribers once the current transaction commits.

    ``payload`` may be a function building it, called at once, only when someone subscribes.
    """
    emit_many(event, lambda: [payload() if callable(payload) else payload])


def emit_many(event: str, payloads: Iterable[dict] | Callable[[], Iterable[dict]]) -> None:
    """``emit`` for a batch: one delivery per payload and endpoint.

    Every event of a kind emitted in one transaction (at one savepoint level) is written in
    one insert, from one ``on_commit`` callback; an event emitted in a savepoint that is
    rolled back is dropped with it. Outside a transaction the deliveries are queued at once.
    """
    if not has_subscribers(event):
        return
    built = list(payloads() if callable(payloads) else payloads)
    if built:
        _join_batch(event, payloads=built)


def emit_rows(event: str, rows: Iterable, *, build: Callable[[list], list[dict]]) -> None:
    """``emit`` for payloads built after the commit: ``build`` gets every row emitted with
    it for ``event`` in the transaction at once (so it loads what they need in a query per
    relation, not per row) and returns a payload per row."""
    if not has_subscribers(event):
        return
    rows = list(rows)
    if rows:
        _join_batch(event, build=build, rows=rows)


class _PendingEvents:
    """The events of one kind emitted at one savepoint level of a transaction, queued by a
    single ``on_commit`` callback."""

    def __init__(self, event: str):
        self.event = event
        self.payloads: list[dict] = []
        self.rows: dict[Callable[[list], list[dict]], list] = {}
        self.open = True
        self.callback = self.queue  # one bound method: Django keeps it by identity
        self.position = -1

    def queue(self) -> None:
        self.open = False
        payloads = list(self.payloads)
        for build, rows in self.rows.items():
            payloads.extend(build(rows))
        if payloads:
            queue_deliveries(event=self.event, payloads=payloads)

    def registered_in(self, connection) -> bool:
        # A savepoint rollback drops the callbacks registered inside it, and those only:
        # the ones after it in the list, so a callback kept keeps its position.
        hooks = connection.run_on_commit
        return self.open and self.position < len(hooks) and hooks[self.position][1] is self.callback


# Per connection (so per thread): the open batch of each (event, savepoint ids).
_open: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _join_batch(
    event: str,
    *,
    payloads: list[dict] = (),
    build: Callable[[list], list[dict]] | None = None,
    rows: list = (),
) -> None:
    """Add events to the batch of ``event`` open at this savepoint level of the transaction,
    or to a new one with its own ``on_commit`` callback (run at once outside a transaction)."""
    connection = transaction.get_connection()
    # atomic(savepoint=False) adds None: such a block cannot be rolled back on its own.
    key = (event, tuple(sid for sid in connection.savepoint_ids if sid is not None))
    batches = _open.setdefault(connection, {})
    batch = batches.get(key)
    is_new = batch is None or not batch.registered_in(connection)
    if is_new:
        batch = _PendingEvents(event)
    batch.payloads.extend(payloads)
    if build is not None:
        batch.rows.setdefault(build, []).extend(rows)
    if not is_new:
        return
    transaction.on_commit(batch.callback)
    if connection.in_atomic_block:
        batch.position = len(connection.run_on_commit) - 1
        _open[connection] = {k: b for k, b in batches.items() if b.registered_in(connection)}
        _open[connection][key] = batch


def queue_deliveries(*, event: str, payloads: list[dict]) -> list[int]:
    """Write a delivery per payload for every active endpoint subscribed to ``event`` and
    enqueue them, in tasks of ``DELIVERY_BATCH`` for one endpoint; returns their ids. Call
    after the commit that made the event true."""
    safe = [_json_safe(payload) for payload in payloads]
    if not safe:
        return []
    endpoints = [e for e in _subscribed_endpoints(event) if e.subscribes_to(event)]
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=endpoint, event=event, payload=payload)
            for endpoint in endpoints
            for payload in safe
        ]
    )
    ids = [row.pk for row in rows]
    # A slow receiver then holds up its own deliveries only.
    for start in range(0, len(ids), len(safe)):
        _enqueue(ids[start : start + len(safe)])
    return ids


def _json_safe(payload: dict) -> dict:
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _enqueue(ids: list[int], countdown: int = 0) -> None:
    """A task per ``DELIVERY_BATCH`` deliveries, in the order given."""
    from .tasks import deliver_webhooks_task

    for start in range(0, len(ids), DELIVERY_BATCH):
        batch = ids[start : start + DELIVERY_BATCH]
        try:
            deliver_webhooks_task.apply_async(args=[batch], countdown=countdown)
        except Exception:  # broker down: the periodic sweep sends them
            logger.warning("Webhook deliveries %s… left for the sweep", batch[0], exc_info=True)
            return


# --- Endpoints ------------------------------------------------------------------------


def check_endpoint_url(url: str) -> None:
    """Raise ``ValidationError`` for a URL a webhook may not be sent to (not http(s), or a
    host that is not a public address, unless ``WEBHOOK_ALLOW_PRIVATE_HOSTS``)."""
    from feedback.review_feeds import FeedError, check_public_host

    if urlsplit(url).scheme not in {"http", "https"}:
        raise ValidationError({"url": ["Use an http or https URL."]})
    if _setting("WEBHOOK_ALLOW_PRIVATE_HOSTS", False):
        return
    try:
        check_public_host(url)
    except FeedError as exc:
        raise ValidationError(
            {"url": [str(exc).replace("feed", "webhook").replace("Feed", "Webhook")]}
        ) from None


def _clean_endpoint_fields(
    *, name: str, url: str, events: list[str], check_url: bool = True
) -> dict:
    """The endpoint fields, cleaned; raises ``ValidationError`` with a message per field
    for an empty name, no or an unknown event, then (the host lookup costs time) for a
    refused URL."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["An endpoint needs a name."]
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown or not events:
        errors["events"] = [f"Unknown event: {', '.join(unknown)}." if unknown else "Pick one."]
    if errors:
        raise ValidationError(errors)
    if check_url:
        check_endpoint_url(url)
    return {"name": name.strip(), "url": url, "events": sorted(set(events))}


def create_endpoint(
    *, name: str, url: str, events: list[str], created_by=None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret (shown to the person once).

    Raises ``ValidationError`` for an empty name, an unknown event or a refused URL.
    """
    fields = _clean_endpoint_fields(name=name, url=url, events=events)
    secret = WebhookEndpoint.generate_secret()
    endpoint = WebhookEndpoint.objects.create(**fields, secret=secret, created_by=created_by)
    forget_subscribers()
    return endpoint, secret


def update_endpoint(
    *,
    endpoint: WebhookEndpoint,
    name: str | None = None,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint's name, URL, events or switch; the fields left ``None`` stay.

    Raises ``ValidationError`` as ``create_endpoint`` does (the URL is checked again only
    when it changes). The secret never changes.
    """
    fields = _clean_endpoint_fields(
        name=endpoint.name if name is None else name,
        url=endpoint.url if url is None else url,
        events=endpoint.events if events is None else events,
        check_url=url is not None and url != endpoint.url,
    )
    for field, value in fields.items():
        setattr(endpoint, field, value)
    endpoint.save(update_fields=list(fields))
    if active is not None and active != endpoint.active:
        return set_endpoint_active(endpoint=endpoint, active=active)
    forget_subscribers()
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery log; deliveries still queued are dropped."""
    endpoint.delete()
    forget_subscribers()


def set_endpoint_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Switch an endpoint on or off; switching on forgets its failures in a row."""
    endpoint.active = active
    if active:
        endpoint.consecutive_failures = 0
        endpoint.disabled_reason = ""
    endpoint.save(update_fields=["active", "consecutive_failures", "disabled_reason"])
    forget_subscribers()
    return endpoint


class EndpointSwitchedOff(ValidationError):
    """A redelivery asked of an endpoint that is switched off."""

    def __init__(self):
        super().__init__("The endpoint is switched off: switch it on first.", code="switched_off")


def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue the event of ``delivery`` again, as a new delivery (the log keeps the old one)
    sent after the commit. Raises ``EndpointSwitchedOff`` unless the endpoint is active
    (a ``ping`` goes anyway, as ``send_test_event`` does)."""
    if not delivery.endpoint.active and delivery.event != WebhookEvent.PING:
        raise EndpointSwitchedOff
    again = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint, event=delivery.event, payload=delivery.payload
    )
    transaction.on_commit(lambda: _enqueue([again.pk]))
    return again


def send_test_event(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``ping`` delivery to ``endpoint``, sent after the commit, active or not (a
    receiver is checked before the endpoint is switched back on)."""
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=WebhookEvent.PING,
        payload={"message": "Test event from FocusLoop.", "endpoint": endpoint.pk},
    )
    transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return delivery


# --- Delivering -----------------------------------------------------------------------


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min … after each failed try (``WEBHOOK_RETRY_BASE_SECONDS``
    doubled), at most six hours."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS)
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is an answer like any other: not followed, counted as failed


class _Poster:
    """The posts of one batch, over one connection per scheme, host and port, kept open
    between posts while the receiver allows it (urllib opens one per request). Redirects
    are not followed; every post checks its URL first. A URL the environment sends through
    a proxy (``https_proxy`` …) is posted by urllib, which speaks to proxies."""

    def __init__(self):
        self.timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10.0)
        self.proxies = urllib.request.getproxies()
        self.links: dict[tuple, http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        """POST and return (status, error); status None when nothing came back."""
        try:
            check_endpoint_url(url)
        except ValidationError as exc:
            return None, "; ".join(exc.messages)
        parts = urlsplit(url)
        if parts.scheme in self.proxies and not urllib.request.proxy_bypass(parts.netloc):
            return self._post_by_urllib(url, body, headers)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        link = self._link(parts)
        try:
            link.request("POST", target, body, headers)
            reply = link.getresponse()
            reply.read(ANSWER_READ_LIMIT)
        except (http.client.HTTPException, OSError) as exc:
            link.close()
            return None, f"Not reachable: {str(exc) or type(exc).__name__}"
        if not reply.isclosed():  # an answer longer than read: not reusable
            link.close()
        if 200 <= reply.status < 300:
            return reply.status, ""
        return reply.status, f"HTTP {reply.status} {reply.reason}"

    def _link(self, parts) -> http.client.HTTPConnection:
        key = (parts.scheme, parts.hostname, parts.port)
        link = self.links.get(key)
        if link is None:
            kind = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            link = kind(parts.hostname, parts.port, timeout=self.timeout)
            self.links[key] = link
        elif link.sock is not None and _closed_by_peer(link.sock):
            link.close()  # the receiver closed it while idle: the next request opens one
        return link

    @cached_property
    def opener(self) -> urllib.request.OpenerDirector:
        return urllib.request.build_opener(_NoRedirects())

    def _post_by_urllib(self, url: str, body: bytes, headers: dict[str, str]):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self.opener.open(request, timeout=self.timeout) as reply:
                reply.read(ANSWER_READ_LIMIT)
                return reply.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return None, f"Not reachable: {getattr(exc, 'reason', exc)}"

    def close(self) -> None:
        for link in self.links.values():
            link.close()


def _closed_by_peer(sock) -> bool:
    # An idle keep-alive connection has nothing to read unless the receiver closed it.
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


@contextmanager
def _unflushed_commit() -> Iterator[None]:
    """A transaction whose commit does not wait for the disk (PostgreSQL).

    For a delivery's claim and outcome only: a crash may lose the last of them, and the
    delivery is then sent again (pending, or its claim goes stale) — the at-least-once
    delivery receivers already drop by ``X-FocusLoop-Delivery``. Not waiting for the
    flush halves what a delivery costs the worker.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    pending = Q(status=WebhookDelivery.Status.PENDING)
    stale = Q(status=WebhookDelivery.Status.DELIVERING, claimed_at__lt=now - STALE_CLAIM)
    with _unflushed_commit():
        claimed = WebhookDelivery.objects.filter(pending | stale, pk=delivery_id).update(
            status=WebhookDelivery.Status.DELIVERING, claimed_at=now
        )
    return bool(claimed)


def deliver_webhook(*, delivery_id: int) -> str:
    """Post one delivery, signed; returns its status afterwards (see ``deliver_webhooks``)."""
    return deliver_webhooks(delivery_ids=[delivery_id])[delivery_id]


def deliver_webhooks(*, delivery_ids: list[int]) -> dict[int, str]:
    """Post deliveries one after another, each signed; returns each one's status afterwards.

    Each row is claimed just before its post (another worker's claim makes it a no-op). A
    2xx succeeds; a 5xx, 408, 429, timeout or unreachable host is tried again after
    ``retry_delay`` until ``WEBHOOK_MAX_ATTEMPTS``; another 4xx fails at once. Each failed
    try counts against the endpoint, which is switched off after
    ``WEBHOOK_DISABLE_AFTER_FAILURES`` in a row. No post starts later than
    ``BATCH_SECONDS`` minus the timeout after the first: the rest is queued as a new task,
    so a hanging receiver keeps a batch within the task's time limit.
    """
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10.0)
    last_start = time.monotonic() + BATCH_SECONDS - timeout
    statuses: dict[int, str] = {}
    retries: dict[int, list[int]] = {}
    started = 0
    poster = _Poster()
    try:
        for delivery_id in delivery_ids:
            if started and time.monotonic() > last_start:
                break
            started += 1
            statuses[delivery_id], countdown = _deliver(delivery_id, poster)
            if countdown is not None:
                retries.setdefault(countdown, []).append(delivery_id)
    finally:
        poster.close()
        # Also when the time limit interrupts a post: that row is left to the sweep.
        for countdown, ids in retries.items():
            _enqueue(ids, countdown=countdown)
        _enqueue(delivery_ids[started:])
    return statuses


def _deliver(delivery_id: int, poster: _Poster) -> tuple[str, int | None]:
    """Claim and post one delivery: its status afterwards, and the seconds to wait before
    the next try when there is one."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        status = (
            WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        )
        return status or "", None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active and delivery.event != WebhookEvent.PING:
        status = _finish(delivery, WebhookDelivery.Status.FAILED, None, "Endpoint switched off.")
        return status, None
    timestamp = int(time.time())
    body = json.dumps(
        {
            "id": delivery.pk,
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        },
        separators=(",", ":"),
    ).encode()
    status, error = poster.post(
        endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret=endpoint.secret, timestamp=timestamp, body=body),
            TIMESTAMP_HEADER: str(timestamp),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.pk),
        },
    )
    delivery.attempts += 1
    if status is not None and 200 <= status < 300:
        # Matching no row writes nothing: the usual success costs no commit to disk.
        WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        return _finish(delivery, WebhookDelivery.Status.SUCCEEDED, status, ""), None
    _count_failure(endpoint)
    transient = status is None or status >= 500 or status in {408, 429}
    if transient and delivery.attempts < _setting("WEBHOOK_MAX_ATTEMPTS", 6):
        delay = retry_delay(delivery.attempts)
        delivery.next_attempt_at = timezone.now() + delay
        _finish(delivery, WebhookDelivery.Status.PENDING, status, error)
        return delivery.status, int(delay.total_seconds())
    failed = _finish(delivery, WebhookDelivery.Status.FAILED, status, error or f"HTTP {status}")
    return failed, None


def _finish(delivery: WebhookDelivery, status: str, code: int | None, error: str) -> str:
    delivery.status = status
    delivery.response_code = code
    delivery.last_error = error[:500]
    delivery.claimed_at = None
    if status == WebhookDelivery.Status.SUCCEEDED:
        delivery.delivered_at = timezone.now()
    with _unflushed_commit():
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "response_code",
                "last_error",
                "next_attempt_at",
                "claimed_at",
                "delivered_at",
            ]
        )
    return status


def _count_failure(endpoint: WebhookEndpoint) -> None:
    limit = _setting("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    switched_off = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, active=True, consecutive_failures__gte=limit
    ).update(
        active=False, disabled_reason=f"Switched off after {limit} failed deliveries in a row."
    )
    if switched_off:
        forget_subscribers()
        logger.warning("Webhook endpoint %s switched off after %s failures", endpoint.pk, limit)


def requeue_due_webhooks(*, now: dt.datetime | None = None) -> int:
    """Enqueue deliveries that are due but whose message was lost (broker down, worker
    died); returns how many. Claiming in ``deliver_webhook`` keeps a double send out."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now - dt.timedelta(minutes=1))
        | Q(status=WebhookDelivery.Status.DELIVERING, claimed_at__lt=now - STALE_CLAIM)
    )
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    _enqueue(ids)
    return len(ids)


# --- Payloads -------------------------------------------------------------------------


def feedback_payload(feedback) -> dict:
    """What ``feedback.created`` and ``feedback.analysed`` carry: no query needed. The text
    has personal details masked unless ``PII_MASKING`` is off."""
    from feedback.privacy import masked_for_processing

    return {
        "id": feedback.pk,
        "channel": feedback.channel,
        "source": feedback.source,
        "external_id": feedback.external_id,
        "text": masked_for_processing(feedback.text),
        "rating_normalised": feedback.rating_normalised,
        "received_at": feedback.received_at,
        "customer": feedback.customer_id,
        "product": feedback.product_id,
        "sentiment": (
            {"score": feedback.sentiment_score, "label": feedback.sentiment_label}
            if feedback.analysed_at
            else None
        ),
    }


def feedback_triage_payload(feedback, changed: list[str]) -> dict:
    """What ``feedback.updated`` carries: the feedback, its triage state and which of
    status, assignee and tags changed."""
    return {
        **feedback_payload(feedback),
        "status": feedback.status,
        "assignee": feedback.assignee.get_username() if feedback.assignee_id else None,
        "tags": sorted(tag.name for tag in feedback.tags.all()),
        "changed": changed,
    }


def feedback_triage_payloads(changes: list[tuple]) -> list[dict]:
    """``feedback_triage_payload`` for each (feedback, changed) of ``changes``, with the
    tags and assignees not loaded yet loaded in a query each. A feedback deleted since, in
    the same transaction, has no payload: ``feedback.deleted`` announces it."""
    from django.db.models import prefetch_related_objects

    kept = [(feedback, changed) for feedback, changed in changes if feedback.pk is not None]
    prefetch_related_objects([feedback for feedback, _ in kept], "tags", "assignee")
    return [feedback_triage_payload(feedback, changed) for feedback, changed in kept]


def announce_feedback_updated(feedback, changed: list[str]) -> None:
    """``feedback.updated`` for a triage change, its payload built after the commit with
    every other triage change of the transaction."""
    emit_rows("feedback.updated", [(feedback, changed)], build=feedback_triage_payloads)


def announce_feedback_deleted(sender, instance, **kwargs) -> None:
    """``post_delete`` receiver for feedback: ``feedback.deleted`` with what identifies the
    row in the sender's system (its id, source and external id), once the deletion
    commits. Every way of deleting is covered: pages, admin, cascades, erasure."""
    emit(
        "feedback.deleted",
        {
            "id": instance.pk,
            "channel": instance.channel,
            "source": instance.source,
            "external_id": instance.external_id,
        },
    )


def feedback_payloads(results) -> list[dict]:
    """Payloads for the stored rows among a batch's results (errors are skipped)."""
    from feedback.models import Feedback

    return [feedback_payload(row) for row in results if isinstance(row, Feedback)]


def survey_response_payload(response) -> dict:
    return {
        "id": response.pk,
        "survey": response.survey_id,
        "channel": response.channel,
        "customer": response.customer_id,
        "submitted_at": response.submitted_at,
    }


def alert_payload(alert) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "title": alert.title,
        "product": alert.product_id,
        "theme": alert.theme_id,
        "feedback": alert.feedback_id,
        "evidence": alert.evidence,
    }
