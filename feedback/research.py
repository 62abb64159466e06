"""What focus groups and interviews share: when their feedback is said to be received."""

from __future__ import annotations

import datetime as dt

from django.db.models import DateTimeField, F, QuerySet, Value
from django.db.models.functions import Least
from django.utils import timezone


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
