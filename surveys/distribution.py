"""Survey distribution: email invitations with one-time tokens, reminders, public links.

Tokens. Each email carries ``secrets.token_urlsafe(32)`` in its link; only its SHA-256 hex
digest is stored (``Invitation.token_digest``), like API keys: the token is random, so a
fast hash is enough, and a leaked table gives no working link. Because the token is never
stored, every email (the first one and each reminder) carries a fresh token, created at the
moment it is sent; the token of the email before it stays valid
(``previous_token_digest``), so a customer who answers from the first email after a
reminder still gets in. A token works until ``token_expires_at`` and only once: the
response is linked to the invitation by ``services.submit_response``, which refuses a
second one.

Sending. ``invite_customers`` and ``send_reminders`` only write rows and enqueue
``surveys.tasks`` after the commit. The task sends one email per invitation while holding
the invitation's row lock, then marks it; a task delivered twice (``acks_late``) finds the
row already marked and sends nothing. Transport errors are recorded on the row
(``last_error``, status ``failed`` for a first send) and retried by the task with backoff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from feedback.models import Customer

from .models import Invitation, Survey

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-]; anything else is forged.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Invitation ids per task message: one message never holds thousands of emails.
SEND_BATCH_SIZE = 100
# The customer field that says they may be invited to surveys.
CONSENT_FIELD = "consent_research"
# Invitations that may still be emailed: consent can be withdrawn, and an erasure blanks
# the address, after the invitation was made.
STILL_INVITABLE = Q(**{f"customer__{CONSENT_FIELD}": True}) & ~Q(email="")
# Errors of the mail transport worth a retry; anything else is a bug and is raised.
TRANSPORT_ERRORS = (smtplib.SMTPException, OSError)
PASTED_EMAILS_MAX = 5000

SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


def token_days() -> int:
    return int(getattr(settings, "SURVEY_INVITATION_TOKEN_DAYS", 60))


def reminder_limit() -> int:
    """At most this many reminders per invitation."""
    return int(getattr(settings, "SURVEY_REMINDER_MAX", 2))


def reminder_gap_days() -> float:
    """A reminder goes only to invitations last emailed at least this many days ago."""
    return float(getattr(settings, "SURVEY_REMINDER_MIN_DAYS", 3))


# ---------------------------------------------------------------------------------------
# Links


def base_url(request=None) -> str:
    """The site's public address: ``SITE_URL`` when set (always, for emails sent
    by the worker); otherwise the address of the current request, else the local default."""
    configured = getattr(settings, "SITE_URL", "")
    if configured:
        return str(configured).rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return DEFAULT_BASE_URL


def absolute_url(path: str, request=None) -> str:
    return base_url(request) + path


def public_url(survey: Survey, request=None) -> str:
    return absolute_url(reverse("surveys:respond", args=[survey.slug]), request)


def embed_url(survey: Survey, request=None) -> str:
    return absolute_url(reverse("surveys:embed", args=[survey.slug]), request)


def embed_snippet(survey: Survey, request=None) -> str:
    """The HTML another site pastes to show ``survey``: the iframe, and a small script that
    sets the frame's height to the survey's (the embedded page posts it on every change,
    as questions appear and disappear). Without the script the frame stays 640 px high
    and scrolls. The script takes messages from the survey's own origin only."""
    url = embed_url(survey, request)
    origin = base_url(request)
    return (
        f'<iframe src="{url}" title="{escape(survey.title)}" width="100%" height="640" '
        f'style="border:0;max-width:48rem" loading="lazy" data-focusloop-survey></iframe>\n'
        '<script>addEventListener("message",function(e){'
        f'if(e.origin!=="{origin}"||!e.data||e.data.focusloop!=="height")return;'
        'document.querySelectorAll("iframe[data-focusloop-survey]").forEach(function(f){'
        'if(f.contentWindow===e.source)f.style.height=e.data.height+"px"})});</script>'
    )


def invitation_url(survey: Survey, token: str) -> str:
    return absolute_url(reverse("surveys:invitation_answer", args=[survey.slug, token]))


# Opt-out links carry the customer's id signed with the secret key: they work for as long as
# the customer exists, whatever happened to the invitation (answered, expired, resent).
OPT_OUT_SALT = "focusloop.surveys.opt-out"


def opt_out_token(customer: Customer) -> str:
    return signing.dumps(customer.pk, salt=OPT_OUT_SALT)


def opt_out_url(customer: Customer) -> str:
    return absolute_url(reverse("surveys:opt_out", args=[opt_out_token(customer)]))


def customer_from_opt_out_token(token: str) -> Customer | None:
    """The customer an opt-out link was made for, or None for a forged or mangled one."""
    try:
        pk = signing.loads(token, salt=OPT_OUT_SALT)
    except signing.BadSignature:
        return None
    return Customer.objects.filter(pk=pk).first() if isinstance(pk, int) else None


def opt_out(*, customer: Customer) -> bool:
    """The customer withdraws their consent to be invited (``consent_research``): no
    invitation or reminder is sent to them from now on. True when it changed."""
    if not getattr(customer, CONSENT_FIELD):
        return False
    setattr(customer, CONSENT_FIELD, False)
    customer.save(update_fields=[CONSENT_FIELD])
    return True


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh token and its digest."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


# ---------------------------------------------------------------------------------------
# Choosing customers


@dataclass
class Audience:
    """Who to invite: filters on customers, and/or a pasted list of email addresses."""

    kind: str = ""
    tier: str = ""
    department: str = ""
    account: str = ""
    product: object = None  # feedback.Product: customers who gave feedback on it
    segment: object = None  # customization.Segment
    emails: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return (
            not any(
                [self.kind, self.tier, self.department, self.account, self.product, self.segment]
            )
            and not self.emails
        )


def customers_in_segment(segment) -> QuerySet[Customer]:
    """The customers of ``segment``.

    Hook: segments hold a hand-picked member list today; when they gain rules
    (customization backlog), evaluating the rules belongs here and every caller follows.
    """
    return Customer.objects.filter(segments=segment)


def select_customers(audience: Audience) -> tuple[QuerySet[Customer], list[str]]:
    """The customers ``audience`` describes, and the pasted addresses that match nobody.

    Filters combine with AND; a pasted list narrows to those addresses (case-insensitive).
    An empty audience selects nobody rather than every customer.
    """
    if audience.is_empty:
        return Customer.objects.none(), []
    customers = Customer.objects.all()
    if audience.kind:
        customers = customers.filter(kind=audience.kind)
    if audience.tier:
        customers = customers.filter(tier=audience.tier)
    if audience.department:
        customers = customers.filter(department__iexact=audience.department.strip())
    if audience.account:
        customers = customers.filter(account__icontains=audience.account.strip())
    if audience.product is not None:
        customers = customers.filter(
            pk__in=Customer.objects.filter(feedback__product=audience.product).values("pk")
        )
    if audience.segment is not None:
        customers = customers.filter(pk__in=customers_in_segment(audience.segment).values("pk"))
    unknown: list[str] = []
    if audience.emails:
        wanted = {e.lower() for e in audience.emails}
        matching = Customer.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=wanted
        )
        found = {e.lower() for e in matching.values_list("email", flat=True)}
        unknown = sorted(wanted - found)
        customers = customers.filter(pk__in=matching.values("pk"))
    return customers.order_by("name", "pk"), unknown


def listed_customers(
    *, customer_ids: Iterable[int] = (), emails: Iterable[str] = ()
) -> tuple[QuerySet[Customer], list[str]]:
    """The customers named by id or by email address (either is enough, unlike the
    filters of an :class:`Audience`), and the addresses that match nobody."""
    by_email, unknown = select_customers(Audience(emails=list(emails)))
    customers = Customer.objects.filter(
        Q(pk__in=list(customer_ids)) | Q(pk__in=by_email.values("pk"))
    ).order_by("pk")
    return customers, unknown


def parse_email_list(text: str) -> tuple[list[str], list[str]]:
    """Addresses pasted one per line or separated by commas/semicolons/spaces.

    Returns ``(valid, invalid)``, each without duplicates, in input order.
    """
    from django.core.validators import validate_email

    valid: list[str] = []
    invalid: list[str] = []
    seen: set[str] = set()
    for raw in re.split(r"[\s,;]+", text or ""):
        item = raw.strip().strip("<>").strip()
        if not item or item.lower() in seen:
            continue
        seen.add(item.lower())
        try:
            validate_email(item)
        except ValidationError:
            invalid.append(item)
        else:
            valid.append(item)
    if len(valid) > PASTED_EMAILS_MAX:
        raise ValidationError(
            {"emails": [f"Paste at most {PASTED_EMAILS_MAX} addresses at a time."]}
        )
    return valid, invalid


@dataclass
class InvitationReport:
    """What inviting a set of customers did (or would do, for a preview)."""

    selected: int = 0
    invited: int = 0
    already_invited: int = 0
    no_email: int = 0
    no_consent: int = 0
    unknown_emails: list[str] = field(default_factory=list)
    invitation_ids: list[int] = field(default_factory=list)


def _sort_customers(survey: Survey, customers) -> tuple[list[Customer], InvitationReport]:
    customers = list(customers)
    report = InvitationReport(selected=len(customers))
    invited_ids = set(
        Invitation.objects.filter(
            survey=survey, customer_id__in=[c.pk for c in customers]
        ).values_list("customer_id", flat=True)
    )
    eligible = []
    for customer in customers:
        if customer.pk in invited_ids:
            report.already_invited += 1
        elif not customer.email:
            report.no_email += 1
        elif not getattr(customer, CONSENT_FIELD):
            report.no_consent += 1
        else:
            eligible.append(customer)
    return eligible, report


def check_can_invite(survey: Survey) -> None:
    """Raise ``ValidationError`` unless the survey accepts responses now: code
    ``survey_not_open`` outside its status and dates, ``quota`` once its quota is reached
    (every answer to the invitation would be refused)."""
    if not survey.accepts_responses_at():
        raise ValidationError(
            "Invitations can only be sent for an open survey inside its dates.",
            code="survey_not_open",
        )
    from .services import quota_reached  # (at module level the import is circular)

    if quota_reached(survey):
        raise ValidationError(
            "This survey has received all the responses its quota allows: invitations and "
            "reminders would only lead to a closed survey. Raise or remove the quota first.",
            code="quota",
        )


def preview_invitations(*, survey: Survey, customers) -> InvitationReport:
    """What ``invite_customers`` would do now, without writing anything."""
    eligible, report = _sort_customers(survey, customers)
    report.invited = len(eligible)
    return report


def invite_customers(*, survey: Survey, customers, sent_by=None) -> InvitationReport:
    """Create one invitation per eligible customer and email them after the commit.

    Skips (and counts) customers already invited to ``survey``, without an email address,
    or without consent to be invited (``Customer.consent_research``). Raises
    ``ValidationError`` (code ``survey_not_open``) unless the survey accepts responses.
    Safe against a concurrent call for the same customers: the unique constraint on
    (survey, customer) holds and the loser's duplicates are skipped.
    """
    check_can_invite(survey)
    with transaction.atomic():
        eligible, report = _sort_customers(survey, customers)
        rows = [
            Invitation(
                survey=survey,
                customer=customer,
                email=customer.email,
                # Never shown: the task replaces it with the token of the email it sends.
                token_digest=new_token()[1],
                sent_by=sent_by,
            )
            for customer in eligible
        ]
        Invitation.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            Invitation.objects.filter(
                survey=survey,
                customer_id__in=[c.pk for c in eligible],
                token_digest__in=[r.token_digest for r in rows],
            ).values_list("pk", flat=True)
        )
        report.invited = len(ids)
        report.already_invited += len(rows) - len(ids)
        report.invitation_ids = sorted(ids)
        _enqueue_sends(report.invitation_ids)
    return report


def resend_failed(*, survey: Survey) -> int:
    """Queue again the invitations of ``survey`` that are pending or failed; their count."""
    check_can_invite(survey)
    ids = list(
        Invitation.objects.filter(
            STILL_INVITABLE,
            survey=survey,
            status__in=[Invitation.Status.PENDING, Invitation.Status.FAILED],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        _enqueue_sends(ids)
    return len(ids)


def requeue_stale_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> int:
    """Queue again invitations still pending ``older_than`` after they were created, on
    surveys that accept responses: their message was lost (broker down at the commit,
    or a worker gone). Sending is idempotent, so a slow but live message does no harm."""
    cutoff = timezone.now() - older_than
    ids = list(
        Invitation.objects.filter(
            STILL_INVITABLE,
            status=Invitation.Status.PENDING,
            created_at__lte=cutoff,
            survey__in=Survey.objects.accepting(),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        _enqueue_sends(ids)
    return len(ids)


def _enqueue_sends(ids: list[int]) -> None:
    from .tasks import send_invitations_task

    for start in range(0, len(ids), SEND_BATCH_SIZE):
        batch = ids[start : start + SEND_BATCH_SIZE]
        # robust: a broker outage is logged; the rows stay pending and the page offers a
        # "send again" button, so the commit already made is never reported as a failure.
        transaction.on_commit(
            lambda batch=batch: send_invitations_task.apply_async(args=[batch], retry=False),
            robust=True,
        )


# ---------------------------------------------------------------------------------------
# Emails


def build_email(invitation: Invitation, token: str, *, reminder: bool) -> EmailMultiAlternatives:
    survey = invitation.survey
    opt_out_link = opt_out_url(invitation.customer)
    context = {
        "survey": survey,
        "customer": invitation.customer,
        "link": invitation_url(survey, token),
        "opt_out_link": opt_out_link,
        "reminder": reminder,
        "expires_at": invitation.token_expires_at,
        "closes_at": survey.closes_at,
    }
    subject = (
        f"Reminder: {survey.title}" if reminder else f"{survey.title}: we would value your view"
    )
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " ")[:200],
        body=render_to_string("surveys/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
        headers={
            "Auto-Submitted": "auto-generated",
            # One-click unsubscribe (RFC 8058): mail clients offer it beside the sender.
            "List-Unsubscribe": f"<{opt_out_link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string("surveys/email/invitation.html", context), "text/html"
    )
    return message


def _short_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def send_invitation(*, invitation_id: int, now: dt.datetime | None = None) -> str:
    """Email one invitation that is pending or failed; ``SENT``, ``FAILED`` or ``SKIPPED``.

    Holds the invitation's row lock while sending, so two deliveries of the same task
    cannot both send; a row already sent (or opened, answered) is skipped, and so is one
    whose customer withdrew their consent or was erased since (said in ``last_error``).
    A transport error marks the row failed with ``last_error`` (the task retries it).
    """
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("survey", "customer")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.status not in (
            Invitation.Status.PENDING,
            Invitation.Status.FAILED,
        ):
            return SKIPPED
        if not invitation.survey.accepts_responses_at(now):
            invitation.last_error = "The survey stopped accepting responses before sending."
            invitation.save(update_fields=["last_error"])
            return SKIPPED
        if not getattr(invitation.customer, CONSENT_FIELD) or not invitation.email:
            invitation.last_error = (
                "Not sent: the customer withdrew their consent to be invited, "
                "or their data was erased."
            )
            invitation.save(update_fields=["last_error"])
            return SKIPPED
        moved = _follow_customer_email(invitation)
        token, digest = new_token()
        invitation.token_expires_at = now + dt.timedelta(days=token_days())
        invitation.send_attempts += 1
        try:
            build_email(invitation, token, reminder=False).send()
        except TRANSPORT_ERRORS as exc:
            logger.warning("invitation %s not sent: %s", invitation.pk, exc)
            invitation.status = Invitation.Status.FAILED
            invitation.last_error = _short_error(exc)
            invitation.save(update_fields=["status", "last_error", "send_attempts"])
            return FAILED
        invitation.previous_token_digest = invitation.token_digest
        invitation.token_digest = digest
        invitation.status = Invitation.Status.SENT
        invitation.sent_at = now
        invitation.last_error = ""
        invitation.save(
            update_fields=[
                "previous_token_digest",
                "token_digest",
                "token_expires_at",
                "status",
                "sent_at",
                "last_error",
                "send_attempts",
                *(["email"] if moved else []),
            ]
        )
    return SENT


def reminders_due(survey: Survey, now: dt.datetime | None = None) -> QuerySet[Invitation]:
    """Invitations sent or opened, not answered, reminded fewer than the limit, and not
    emailed during the last ``reminder_gap_days()``, to customers who still agree to be
    invited and still have an address (consent withdrawn or data erased since: none)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=reminder_gap_days())
    return Invitation.objects.filter(
        STILL_INVITABLE,
        survey=survey,
        status__in=[Invitation.Status.SENT, Invitation.Status.OPENED],
        reminders_sent__lt=reminder_limit(),
    ).filter(Q(reminded_at__isnull=True, sent_at__lte=cutoff) | Q(reminded_at__lte=cutoff))


def send_reminders(*, survey: Survey, now: dt.datetime | None = None) -> int:
    """Queue a reminder for every invitation of ``survey`` due one; return how many.

    Raises ``ValidationError`` (code ``survey_not_open``) unless the survey accepts
    responses. Each queued item carries the reminder count it expects, so a task
    delivered twice sends each reminder once.
    """
    check_can_invite(survey)
    from .tasks import send_reminders_task

    items = [
        [pk, count]
        for pk, count in reminders_due(survey, now)
        .order_by("pk")
        .values_list("pk", "reminders_sent")
    ]
    with transaction.atomic():
        for start in range(0, len(items), SEND_BATCH_SIZE):
            batch = items[start : start + SEND_BATCH_SIZE]
            transaction.on_commit(
                lambda batch=batch: send_reminders_task.apply_async(args=[batch], retry=False),
                robust=True,
            )
    return len(items)


def send_reminder(
    *, invitation_id: int, reminders_sent: int, now: dt.datetime | None = None
) -> str:
    """Email the reminder number ``reminders_sent + 1`` of one invitation.

    Skipped when the invitation was answered meanwhile, already got that reminder (a
    repeated task), the customer withdrew their consent or was erased, or the survey
    stopped accepting responses. A transport error is recorded in ``last_error``; the
    status stays as it was.
    """
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("survey", "customer")
            .filter(pk=invitation_id)
            .first()
        )
        if (
            invitation is None
            or not invitation.awaits_answer
            or invitation.reminders_sent != reminders_sent
            or not getattr(invitation.customer, CONSENT_FIELD)
            or not invitation.email
            or not invitation.survey.accepts_responses_at(now)
        ):
            return SKIPPED
        # To the address the customer has now (it may have changed since the invitation).
        moved = _follow_customer_email(invitation)
        token, digest = new_token()
        invitation.token_expires_at = now + dt.timedelta(days=token_days())
        try:
            build_email(invitation, token, reminder=True).send()
        except TRANSPORT_ERRORS as exc:
            logger.warning("reminder for invitation %s not sent: %s", invitation.pk, exc)
            invitation.last_error = _short_error(exc)
            invitation.save(update_fields=["last_error"])
            return FAILED
        invitation.previous_token_digest = invitation.token_digest
        invitation.token_digest = digest
        invitation.reminders_sent += 1
        invitation.reminded_at = now
        invitation.last_error = ""
        invitation.save(
            update_fields=[
                "previous_token_digest",
                "token_digest",
                "token_expires_at",
                "reminders_sent",
                "reminded_at",
                "last_error",
                *(["email"] if moved else []),
            ]
        )
    return SENT


def _follow_customer_email(invitation: Invitation) -> bool:
    """Point ``invitation`` at its customer's current address; True when it changed."""
    current = invitation.customer.email
    if not current or current == invitation.email:
        return False
    invitation.email = current
    return True


# ---------------------------------------------------------------------------------------
# Following a link


class InvitationLinkError(Exception):
    """The link cannot be used; ``status`` is the HTTP status to answer (404 or 410)."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def resolve_invitation(*, survey: Survey, token: str, now: dt.datetime | None = None) -> Invitation:
    """The invitation of ``survey`` whose latest or previous email carried ``token``.

    Raises ``InvitationLinkError``: 404 for a malformed, unknown or other survey's token
    (the same answer for each, so a token of another survey reveals nothing); 410 for a
    used or expired one.
    """
    now = now or timezone.now()
    unknown = InvitationLinkError(
        404,
        "This invitation link is not valid",
        "Check that you opened the whole link from your email. "
        "If you copied it, part of it may be missing.",
    )
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise unknown
    digest = hash_token(token)
    invitation = (
        Invitation.objects.select_related("customer", "survey")
        .filter(Q(token_digest=digest) | Q(previous_token_digest=digest))
        .filter(status__in=[s for s in Invitation.Status.values if s != Invitation.Status.PENDING])
        .first()
    )
    if invitation is None or invitation.survey_id != survey.pk:
        raise unknown
    if invitation.status == Invitation.Status.ANSWERED or hasattr(invitation, "response"):
        raise InvitationLinkError(
            410,
            "You have already answered this survey",
            "Thank you! Each invitation can be used once, and yours has been.",
        )
    if invitation.token_expires_at and now >= invitation.token_expires_at:
        raise InvitationLinkError(
            410,
            "This invitation has expired",
            "The link in your email is no longer valid.",
        )
    return invitation


def mark_opened(*, invitation: Invitation, now: dt.datetime | None = None) -> None:
    """First visit of the link: sent → opened (a no-op afterwards)."""
    now = now or timezone.now()
    updated = Invitation.objects.filter(
        pk=invitation.pk, status__in=[Invitation.Status.SENT, Invitation.Status.FAILED]
    ).update(status=Invitation.Status.OPENED, opened_at=now)
    if updated:
        invitation.status = Invitation.Status.OPENED
        invitation.opened_at = now


# ---------------------------------------------------------------------------------------
# Reads


@dataclass
class InvitationStats:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        s = self.by_status
        return s.get("sent", 0) + s.get("opened", 0) + s.get("answered", 0)

    @property
    def answered(self) -> int:
        return self.by_status.get("answered", 0)

    @property
    def response_rate(self) -> float | None:
        """Answered / delivered, 0..1; None before anything was delivered."""
        return self.answered / self.delivered if self.delivered else None

    @property
    def opened_rate(self) -> float | None:
        opened = self.by_status.get("opened", 0) + self.answered
        return opened / self.delivered if self.delivered else None


def invitation_stats(survey: Survey) -> InvitationStats:
    rows = (
        Invitation.objects.filter(survey=survey).values("status").annotate(n=Count("pk")).order_by()
    )
    by_status = {status: 0 for status in Invitation.Status.values}
    for row in rows:
        by_status[row["status"]] = row["n"]
    return InvitationStats(total=sum(by_status.values()), by_status=by_status)


def invitation_list(survey: Survey, status: str = "") -> QuerySet[Invitation]:
    invitations = Invitation.objects.filter(survey=survey).select_related("customer", "sent_by")
    if status in Invitation.Status.values:
        invitations = invitations.filter(status=status)
    return invitations.order_by("-created_at", "-id")
