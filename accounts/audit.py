"""The audit trail: who changed what, when, with the values before and after.

Changes are recorded by django-auditlog from model signals, so every front door (pages,
API, admin, tasks, commands) is covered without each view remembering to log. The tracked
models and fields are listed in ``AUDITLOG_INCLUDE_TRACKING_MODELS`` (settings); feedback is
tracked here instead, for its triage fields and changes only: a customer's submission is
not a staff change, and logging every insert would double the cost of the ingest path.

Entries are append-only from the application: no page, endpoint or admin view changes or
deletes them.
"""

from __future__ import annotations

from functools import partial

from auditlog.cid import set_cid
from auditlog.context import _set_extra_data, auditlog_value
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.receivers import log_create
from auditlog.registry import auditlog
from django.db.models.signals import post_save, pre_save

from .authentication import usable_key_for
from .client_ip import client_ip


def register_triage_changes() -> None:
    """Track feedback triage (status, assignee) changes, but not the creation of feedback.

    django-auditlog reads field lists from its one global registry, so feedback is
    registered there and only its creation receiver is disconnected again.
    """
    from feedback.models import Feedback

    if auditlog.contains(Feedback):
        return
    auditlog.register(Feedback, include_fields=["status", "assignee"], m2m_fields=set())
    post_save.disconnect(
        sender=Feedback, dispatch_uid=auditlog._dispatch_uid(post_save, log_create)
    )


def api_key_label(request) -> str | None:
    key = usable_key_for(request)
    return f"API key {key.prefix}… ({key.name})" if key is not None else None


class AuditMiddleware(AuditlogMiddleware):
    """Names the actor of each change: the signed-in person, or the API key that sent it.

    An API key is not a user, so it goes in ``actor_email`` as "API key <prefix>… (<name>)",
    looked up only when an entry is written. The client address comes from the same
    setting the rate limits trust (``RATELIMIT_IP_META_KEY``), not from a header anyone can
    send.
    """

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request) or None

    def get_extra_data(self, request):
        data = super().get_extra_data(request)
        if data.get("actor") is None:
            data["actor_email"] = lambda: api_key_label(request)
        return data

    def __call__(self, request):
        # django-auditlog's own middleware connects a pre_save receiver for every request
        # and disconnects it afterwards, which empties Django's receiver cache for every
        # model's pre_save on each request (and races between threads). Here one receiver
        # stays connected (``connect_context_receiver``) and each request only sets the
        # context it reads.
        set_cid(request)
        token = auditlog_value.set(
            {**self.get_extra_data(request), "signal_duid": CONTEXT_RECEIVER_UID}
        )
        try:
            return self.get_response(request)
        finally:
            auditlog_value.reset(token)


CONTEXT_RECEIVER_UID = ("focusloop", "audit-request-context")


def connect_context_receiver() -> None:
    """Fill each log entry's actor, address and correlation id from the request's context
    (set by ``AuditMiddleware``); outside a request the context is absent and nothing is
    filled, as with django-auditlog's own receiver."""
    pre_save.connect(
        partial(_set_extra_data, signal_duid=CONTEXT_RECEIVER_UID),
        sender=LogEntry,
        dispatch_uid=CONTEXT_RECEIVER_UID,
        weak=False,
    )


def audit_entries(
    *,
    actor: str = "",
    content_type=None,
    object_id: str = "",
    action: int | None = None,
    since=None,
    until=None,
    text: str = "",
):
    """Log entries, newest first, narrowed by whichever filters are given."""
    from auditlog.models import LogEntry
    from django.db.models import Q

    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if actor:
        entries = entries.filter(
            Q(actor__username__icontains=actor) | Q(actor_email__icontains=actor)
        )
    if content_type is not None:
        entries = entries.filter(content_type=content_type)
    if object_id:
        entries = entries.filter(object_pk=object_id)
    if action is not None:
        entries = entries.filter(action=action)
    if since is not None:
        entries = entries.filter(timestamp__date__gte=since)
    if until is not None:
        entries = entries.filter(timestamp__date__lte=until)
    if text:
        entries = entries.filter(Q(changes_text__icontains=text) | Q(object_repr__icontains=text))
    return entries
