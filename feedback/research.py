"""What focus groups and interviews share: when their feedback is said to be received."""

from __future__ import annotations

import datetime as dt

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
