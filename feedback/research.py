"""What focus groups and interviews share: when their feedback is said to be received, and
who has not consented to take part in research."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import DateTimeField, F, QuerySet, Value
from django.db.models.functions import Least
from django.utils import timezone

from .models import Customer


def said_at(session_time: dt.datetime | None) -> dt.datetime:
    """The session's time when it lies in the past, otherwise now.

    A finding entered during a session planned for later in the day must not land in the
    future, where the dashboard would count it on a day that has not come yet.
    """
    now = timezone.now()
    if session_time is None or session_time > now:
        return now
    return session_time


def follow_session(feedback: QuerySet, *, session_time: dt.datetime, **values) -> int:
    """Give the feedback made during a session the session's changed ``values`` (customer,
    product) and time: ``received_at`` as ``said_at`` gave it when each row was stored,
    i.e. the session's time unless that was after the row was stored. Returns the count."""
    received_at = Least(Value(session_time, output_field=DateTimeField()), F("created_at"))
    return feedback.update(received_at=received_at, **values)


def research_consent_warning(customers: Iterable[Customer]) -> str | None:
    """A note naming the customers without ``consent_research`` (survey invitations skip
    them), or None. Sessions with them are allowed (the consent may have been given on the
    day, and internal teams take part too), so the pages warn rather than refuse."""
    missing = [c for c in customers if not c.consent_research]
    if not missing:
        return None
    names = ", ".join(customer_choice_label(c, consent=False) for c in missing)
    verb = "has" if len(missing) == 1 else "have"
    return (
        f"{names} {verb} not consented to research: make sure they agreed before you "
        "record what they say."
    )


def customer_choice_label(customer: Customer, *, consent: bool = True) -> str:
    """The name with what tells namesakes apart (email, company or department, else the
    id), and, with ``consent``, a note when the customer has not consented to research."""
    details = [d for d in (customer.email, customer.account or customer.department) if d]
    label = f"{customer.name} ({', '.join(details) if details else f'#{customer.pk}'})"
    if consent and not customer.consent_research:
        label += " — no research consent"
    return label
