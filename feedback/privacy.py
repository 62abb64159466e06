"""Respondents' rights: everything stored about a person, exported or erased.

A person is known by an email address: the customer records with that email and the
anonymous submissions signed with it. They prove they own the address by following a
signed link sent to it (valid ``PRIVACY_LINK_HOURS``); staff run the same from the admin.

Erasure removes or masks personal fields everywhere (names, emails, free text that names
them or holds contact details) and keeps what anonymous aggregates need (dates, channels,
scores, sentiment, themes, the customer row as "Erased customer" so counts stay right).
It is logged in ``ErasureRecord`` by a digest of the address, never the address itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .csv_safety import neutralise_formula
from .models import Customer, ErasureRecord, Feedback
from .pii import redact

SIGNING_SALT = "focusloop.privacy"
ERASED_NAME = "Erased customer"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_digest(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def make_token(email: str) -> str:
    return signing.dumps({"email": normalise_email(email)}, salt=SIGNING_SALT)


def email_from_token(token: str) -> str:
    """The address a link was sent to. Raises ``ValidationError`` when forged or expired."""
    max_age = settings.PRIVACY_LINK_HOURS * 3600
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ValidationError("This link has expired. Ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise ValidationError("This link is not valid.") from exc
    return data["email"]


def _customers(email: str):
    return Customer.objects.filter(email__iexact=normalise_email(email))


def _feedback(email: str):
    email = normalise_email(email)
    return Feedback.objects.filter(
        Q(customer__email__iexact=email) | Q(submitter_email__iexact=email)
    )


def holds_data_about(email: str) -> bool:
    return bool(email) and (_customers(email).exists() or _feedback(email).exists())


def send_access_link(*, email: str) -> bool:
    """Mail a signed link to ``email`` when anything is stored about it; True when sent.

    The page answers the same either way, so nobody learns whether an address is known.
    """
    email = normalise_email(email)
    if not holds_data_about(email):
        return False
    link = settings.SITE_URL.rstrip("/") + reverse(
        "feedback:privacy_request", args=[make_token(email)]
    )
    context = {"link": link, "hours": settings.PRIVACY_LINK_HOURS}
    send_mail(
        subject="Your data at FocusLoop",
        message=render_to_string("feedback/email/privacy_link.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    return True


@dataclass
class PersonalData:
    email: str
    records: dict[str, list[dict]]

    def as_json(self) -> str:
        return json.dumps(
            {"email": self.email, **self.records}, cls=DjangoJSONEncoder, indent=2, sort_keys=True
        )

    def as_csv(self) -> str:
        """One row per stored value: record type, id, field, value (opens in any spreadsheet)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["record", "id", "field", "value"])
        for kind, rows in self.records.items():
            for row in rows:
                for field, value in row.items():
                    if field == "id":
                        continue
                    text = (
                        value
                        if isinstance(value, str)
                        else json.dumps(value, cls=DjangoJSONEncoder)
                    )
                    writer.writerow([kind, row.get("id"), field, neutralise_formula(text)])
        return out.getvalue()


def collect_personal_data(*, email: str) -> PersonalData:
    """Everything stored about the person with this email, as plain data."""
    email = normalise_email(email)
    customers = list(_customers(email))
    customer_ids = [c.pk for c in customers]
    records: dict[str, list[dict]] = {
        "customers": [
            {
                "id": c.pk,
                "name": c.name,
                "email": c.email,
                "kind": c.kind,
                "department": c.department,
                "account": c.account,
                "tier": c.tier,
                "attributes": c.attributes,
                "consent_contact": c.consent_contact,
                "consent_research": c.consent_research,
                "created_at": c.created_at,
            }
            for c in customers
        ],
        "feedback": [
            {
                "id": f.pk,
                "received_at": f.received_at,
                "channel": f.channel,
                "source": f.source,
                "text": f.text,
                "rating": f.rating,
                "submitter_name": f.submitter_name,
                "submitter_email": f.submitter_email,
                "consent": f.consent,
                "consent_text": f.consent_text,
                "sentiment": f.sentiment_label,
            }
            for f in _feedback(email).order_by("received_at", "pk")
        ],
    }
    Response = apps.get_model("surveys", "Response")
    responses = (
        Response.objects.filter(customer_id__in=customer_ids)
        .select_related("survey")
        .prefetch_related("answers__question")
        .order_by("submitted_at", "pk")
    )
    records["survey_responses"] = [
        {
            "id": r.pk,
            "survey": r.survey.title,
            "submitted_at": r.submitted_at,
            "answers": {
                a.question.key: (a.number if a.number is not None else a.text or a.choices)
                for a in r.answers.all()
            },
        }
        for r in responses
    ]
    Invitation = apps.get_model("surveys", "Invitation")
    records["survey_invitations"] = list(
        Invitation.objects.filter(customer_id__in=customer_ids).values(
            "id", "email", "status", "sent_at", "survey__title"
        )
    )
    Interview = apps.get_model("feedback", "Interview")
    records["interviews"] = list(
        Interview.objects.filter(customer_id__in=customer_ids).values(
            "id", "conducted_at", "notes", "transcript"
        )
    )
    Preference = apps.get_model("customization", "CustomerPreference")
    records["preferences"] = list(
        Preference.objects.filter(customer_id__in=customer_ids).values(
            "id", "key", "value", "source", "stated_on"
        )
    )
    Vote = apps.get_model("innovation", "IdeaVote")
    records["idea_votes"] = list(
        Vote.objects.filter(customer_id__in=customer_ids).values("id", "idea__title", "created_at")
    )
    LoopMessage = apps.get_model("innovation", "LoopMessage")
    records["messages_sent"] = list(
        LoopMessage.objects.filter(customer_id__in=customer_ids).values(
            "id", "subject", "email", "sent_at"
        )
    )
    return PersonalData(email=email, records=records)


def _redacted(text: str, names: list[str], email: str) -> str:
    return redact(text.replace(email, "[email]") if email else text, names=names)


@transaction.atomic
def erase_personal_data(*, email: str, via: str, requested_by=None) -> ErasureRecord:
    """Erase the personal data of the person with ``email``; returns the log entry.

    Runs in one transaction: either everything is erased or nothing is. Raises
    ``ValidationError`` when nothing is stored about the address.
    """
    email = normalise_email(email)
    if not holds_data_about(email):
        raise ValidationError({"email": ["Nothing is stored about this address."]})
    customers = list(_customers(email).select_for_update())
    customer_ids = [c.pk for c in customers]
    names = [c.name for c in customers]
    feedback_rows = list(_feedback(email).select_for_update(of=("self",)))
    names += [f.submitter_name for f in feedback_rows if f.submitter_name]
    counts: dict[str, int] = {}

    for item in feedback_rows:
        item.text = _redacted(item.text, names, email) or "[erased]"
        item.positive_excerpt = _redacted(item.positive_excerpt, names, email)
        item.negative_excerpt = _redacted(item.negative_excerpt, names, email)
        item.submitter_name = ""
        item.submitter_email = ""
    Feedback.objects.bulk_update(
        feedback_rows,
        ["text", "positive_excerpt", "negative_excerpt", "submitter_name", "submitter_email"],
        batch_size=500,
    )
    counts["feedback"] = len(feedback_rows)

    Answer = apps.get_model("surveys", "Answer")
    answers = [a for a in Answer.objects.filter(response__customer_id__in=customer_ids) if a.text]
    for answer in answers:
        answer.text = _redacted(answer.text, names, email)
    Answer.objects.bulk_update(answers, ["text"], batch_size=500)
    counts["survey_answers"] = len(answers)

    Invitation = apps.get_model("surveys", "Invitation")
    counts["survey_invitations"] = Invitation.objects.filter(customer_id__in=customer_ids).update(
        email=""
    )
    Interview = apps.get_model("feedback", "Interview")
    interviews = list(Interview.objects.filter(customer_id__in=customer_ids))
    for interview in interviews:
        interview.notes = _redacted(interview.notes, names, email)
        interview.transcript = _redacted(interview.transcript, names, email)
    Interview.objects.bulk_update(interviews, ["notes", "transcript"])
    counts["interviews"] = len(interviews)

    Preference = apps.get_model("customization", "CustomerPreference")
    counts["preferences"], _ = Preference.objects.filter(customer_id__in=customer_ids).delete()
    LoopMessage = apps.get_model("innovation", "LoopMessage")
    counts["messages_sent"] = LoopMessage.objects.filter(customer_id__in=customer_ids).update(
        email=""
    )

    for customer in customers:
        customer.name = f"{ERASED_NAME} #{customer.pk}"
        customer.email = ""
        customer.account = ""
        customer.attributes = {}
        customer.consent_contact = False
        customer.consent_research = False
    Customer.objects.bulk_update(
        customers,
        ["name", "email", "account", "attributes", "consent_contact", "consent_research"],
    )
    counts["customers"] = len(customers)

    return ErasureRecord.objects.create(
        email_sha256=email_digest(email), via=via, requested_by=requested_by, counts=counts
    )


def masked_for_processing(text: str) -> str:
    """``text`` as analysis, exports and webhooks see it: personal data masked unless
    ``PII_MASKING`` is off (with "store" it was masked before saving already)."""
    return text if settings.PII_MASKING == "off" else redact(text)


def masked_on_save(text: str) -> str:
    """``text`` as it is stored: masked only when ``PII_MASKING`` is "store"."""
    return redact(text) if settings.PII_MASKING == "store" else text


RETENTION_BATCH = 1000


def anonymise_expired_feedback(*, now=None, batch_size: int = RETENTION_BATCH) -> int:
    """Anonymise one batch of feedback older than ``FEEDBACK_RETENTION_DAYS``; returns how many.

    The text keeps its words but loses contact details (masked), the submitter's name and
    email go, and a survey answer that carries the same text is masked too; scores,
    sentiment and themes stay, so trends are unchanged. Rows are claimed with
    ``FOR UPDATE SKIP LOCKED`` where the database has it; call again until it returns 0.
    """
    days = settings.FEEDBACK_RETENTION_DAYS
    if days <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    from django.db import connection

    with transaction.atomic():
        claim = Feedback.objects.filter(received_at__lt=cutoff, anonymised_at__isnull=True)
        claim = claim.order_by("pk").only(
            "pk", "text", "positive_excerpt", "negative_excerpt", "submitter_name"
        )
        if connection.features.has_select_for_update_skip_locked:
            claim = claim.select_for_update(skip_locked=True, of=("self",))
        rows = list(claim[:batch_size])
        for row in rows:
            names = [row.submitter_name] if row.submitter_name else []
            row.text = redact(row.text, names=names) or "[erased]"
            row.positive_excerpt = redact(row.positive_excerpt, names=names)
            row.negative_excerpt = redact(row.negative_excerpt, names=names)
            row.submitter_name = ""
            row.submitter_email = ""
            row.anonymised_at = now
        Feedback.objects.bulk_update(
            rows,
            [
                "text",
                "positive_excerpt",
                "negative_excerpt",
                "submitter_name",
                "submitter_email",
                "anonymised_at",
            ],
            batch_size=500,
        )
        Answer = apps.get_model("surveys", "Answer")
        answers = list(Answer.objects.filter(feedback__in=rows).exclude(text=""))
        for answer in answers:
            answer.text = redact(answer.text)
        Answer.objects.bulk_update(answers, ["text"], batch_size=500)
    return len(rows)
