"""Kiosk mode: responses collected on a tablet, queued offline, synced in batches.

Each queued response carries a client UUID created on the tablet; ``submit_response`` is
idempotent on (survey, client_uuid), so a batch sent twice (the answer to the first sync
was lost with the network) stores every response once. The survey's status, dates and
quota are checked again at sync time: a response collected while the tablet was offline
is refused if the survey closed or filled up meanwhile, and the kiosk shows why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import services
from .models import Response, Survey

SYNC_BATCH_MAX = 200
STORED = "stored"
DUPLICATE = "duplicate"
REFUSED = "refused"


@dataclass
class SyncResult:
    client_uuid: str
    status: str
    reason: str = ""
    messages: dict[str, list[str]] = field(default_factory=dict)
    response_id: int | None = None

    def as_dict(self) -> dict:
        data = {"client_uuid": self.client_uuid, "status": self.status}
        if self.status == REFUSED:
            data["reason"] = self.reason
            data["messages"] = self.messages
        else:
            data["response_id"] = self.response_id
        return data


def clamp_time(raw, *, survey: Survey, now: dt.datetime) -> dt.datetime | None:
    """A client's timestamp, trusted only within bounds: never in the future (tablet clocks
    drift), never before the survey opened. None when missing or unreadable."""
    if isinstance(raw, str):
        value = parse_datetime(raw.strip())
    else:
        value = None
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    earliest = survey.earliest_response_time
    if earliest and value < earliest:
        value = earliest
    return min(value, now)


def sync_one(*, survey: Survey, item, collected_by, now: dt.datetime) -> SyncResult:
    """Store one queued kiosk response through ``submit_response`` and say what happened."""
    if not isinstance(item, dict):
        return SyncResult("", REFUSED, "invalid", {"__all__": ["Send each response as an object."]})
    raw_uuid = item.get("client_uuid")
    try:
        client_uuid = uuid.UUID(str(raw_uuid))
    except ValueError:
        return SyncResult(
            str(raw_uuid or "")[:64],
            REFUSED,
            "invalid",
            {"client_uuid": ["Each response needs a client_uuid (a UUID)."]},
        )
    answers = item.get("answers")
    if not isinstance(answers, dict):
        return SyncResult(
            str(client_uuid), REFUSED, "invalid", {"answers": ["Send the answers as an object."]}
        )
    submitted_at = clamp_time(item.get("submitted_at"), survey=survey, now=now) or now
    started_at = clamp_time(item.get("started_at"), survey=survey, now=now)
    if started_at and started_at > submitted_at:
        started_at = None
    try:
        response, created = services.submit_response(
            survey=survey,
            answers=answers,
            channel=Response.Channel.KIOSK,
            client_uuid=client_uuid,
            collected_by=collected_by,
            submitted_at=submitted_at,
            started_at=started_at,
        )
    except services.SurveyClosed as exc:
        return SyncResult(str(client_uuid), REFUSED, "closed", {"__all__": exc.messages})
    except services.QuotaReached as exc:
        return SyncResult(str(client_uuid), REFUSED, "quota", {"__all__": exc.messages})
    except ValidationError as exc:
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return SyncResult(str(client_uuid), REFUSED, "invalid", messages)
    return SyncResult(str(client_uuid), STORED if created else DUPLICATE, response_id=response.pk)


def sync_kiosk_responses(*, survey: Survey, items: list, collected_by) -> list[SyncResult]:
    """Store a batch of queued kiosk responses, each on its own (one refused response never
    holds back the others), and return one result per item, in order.

    Raises ``ValidationError`` when the batch itself is malformed or too large.
    """
    if not isinstance(items, list):
        raise ValidationError({"responses": ["Send a list of responses."]})
    if len(items) > SYNC_BATCH_MAX:
        raise ValidationError(
            {"responses": [f"Send at most {SYNC_BATCH_MAX} responses per request."]}
        )
    now = timezone.now()
    return [
        sync_one(survey=survey, item=item, collected_by=collected_by, now=now) for item in items
    ]


def question_definitions(survey: Survey) -> list[dict]:
    """What ``static/js/kiosk.js`` needs to draw the form and run its logic offline."""
    from .question_types import OTHER, question_type

    definitions = []
    for question in survey.questions.current():
        qtype = question_type(question.kind)
        definitions.append(
            {
                "key": question.key,
                "kind": question.kind,
                "family": qtype.family,
                "text": question.text,
                "help_text": question.help_text,
                "required": question.required,
                "choices": list(question.choices or []),
                "allow_other": question.allow_other,
                "other_label": OTHER,
                "points": [{"value": p, "label": qtype.point_label(p)} for p in qtype.points],
                "max_length": qtype.max_length,
                "show_if": question.show_if or {},
                "end_if": question.end_if or {},
            }
        )
    return definitions
