"""Surveys: questionnaires, their questions, the invitations sent and the responses received.

Responses are never corrupted by later edits: a question that already has answers is frozen
(its kind, choices and scale stay as answered); editing it archives the old row and adds a new
one with a new ``key``, so every stored answer keeps pointing at the exact question it answered.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class SurveyQuerySet(models.QuerySet):
    def accepting(self, now=None):
        """Open surveys inside their date window (quota is checked per response)."""
        now = now or timezone.now()
        return self.filter(status=Survey.Status.OPEN).filter(
            Q(opens_at__isnull=True) | Q(opens_at__lte=now),
            Q(closes_at__isnull=True) | Q(closes_at__gt=now),
        )


class Survey(models.Model):
    """A questionnaire with a lifecycle draft → open → closed."""

    # Far above any real survey, far below the integer column's limit (2,147,483,647).
    MAX_RESPONSE_QUOTA = 1_000_000

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Audience(models.TextChoices):
        EXTERNAL = "external", "External customers"
        INTERNAL = "internal", "Internal customers"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=40, unique=True)
    description = models.TextField(blank=True, help_text="Shown above the first question.")
    thank_you_message = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.EXTERNAL)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys"
    )
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    response_quota = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop accepting responses after this many."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="surveys_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Moved on by every question edit, in the edit's transaction: (survey, version) names
    # one set of current questions, which respondent pages keep per process.
    questions_version = models.PositiveIntegerField(default=1, editable=False)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("collect_responses", "Can collect responses in kiosk mode"),
            ("view_results", "Can see survey results and export them"),
            ("send_invitations", "Can send survey invitations and reminders"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
                name="survey_closes_after_opens",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def earliest_response_time(self) -> dt.datetime | None:
        """No response can have been given before this: the open date, or when it was
        opened. A client's timestamp before it is a drifting clock or a made-up value."""
        return self.opens_at or self.opened_at

    EFFECTIVE_STATES = {"scheduled": "Scheduled", "ended": "Ended", "quota": "Quota reached"}

    @property
    def effective_status(self) -> str:
        """What respondents meet now: the status, or for an open survey "scheduled"
        (before its open date), "ended" (past its close date) or "quota" (quota reached).
        Uses an annotated ``response_count`` when the row has one (the survey list)."""
        if self.status != self.Status.OPEN:
            return self.status
        now = timezone.now()
        if not self.accepts_responses_at(now):  # open, so outside its dates
            return "scheduled" if self.opens_at and now < self.opens_at else "ended"
        if self.response_quota is not None:
            count = getattr(self, "response_count", None)
            if count is None:
                count = self.responses.count()
            if count >= self.response_quota:
                return "quota"
        return self.status

    def get_effective_status_display(self) -> str:
        state = self.effective_status
        return self.EFFECTIVE_STATES.get(state) or self.Status(state).label

    def accepts_responses_at(self, now=None) -> bool:
        """Open and inside the date window; the quota is the service's job (it needs a lock)."""
        now = now or timezone.now()
        if self.status != self.Status.OPEN:
            return False
        if self.opens_at and now < self.opens_at:
            return False
        return not (self.closes_at and now >= self.closes_at)


class QuestionQuerySet(models.QuerySet):
    def current(self):
        """The questions a respondent sees now (archived versions excluded), in order."""
        return self.filter(archived_at__isnull=True).order_by("position", "id")


class Question(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps", "Net Promoter Score (0–10)"
        CSAT = "csat", "Customer satisfaction (1–5)"
        CES = "ces", "Customer effort (1–7)"
        LIKERT = "likert", "Agreement (Likert, 1–5)"
        STARS = "stars", "Star rating (1–5)"
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        YES_NO = "yes_no", "Yes / no"
        SHORT_TEXT = "short_text", "Short text"
        LONG_TEXT = "long_text", "Long text"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(
        max_length=40,
        help_text="Stable identifier inside the survey, used by logic rules, exports and the API.",
    )
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.CharField(max_length=500)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=False)
    choices = models.JSONField(
        default=list, blank=True, help_text="Options of single/multiple choice questions."
    )
    allow_other = models.BooleanField(
        default=False, help_text="Multiple/single choice: add an 'Other' option with a text box."
    )
    # Display logic: {"question": "<key of an earlier question>", "op": "lte", "value": 6}.
    # ops: eq, neq, lt, lte, gt, gte, in, contains, answered. Empty: always shown.
    show_if = models.JSONField(default=dict, blank=True)
    # Skip to the end of the survey when this question's answer matches:
    # {"op": "eq", "value": "no"}. Empty: never.
    end_if = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when an answered question was replaced by an edit."
    )
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique_in_survey"),
        ]

    def __str__(self) -> str:
        return self.text


class Invitation(models.Model):
    """One customer invited by email; the token is shown once in the link and stored hashed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        ANSWERED = "answered", "Answered"
        FAILED = "failed", "Sending failed"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        "feedback.Customer", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    email = models.EmailField()
    # SHA-256 of the token in the latest email. Every email (first send, reminder) carries a
    # fresh token; the one before it stays valid through ``previous_token_digest`` so a
    # customer who opens the first email after the reminder still gets in.
    token_digest = models.CharField(max_length=64, unique=True)
    previous_token_digest = models.CharField(max_length=64, blank=True, db_index=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "customer"], name="one_invitation_per_customer_and_survey"
            ),
        ]
        indexes = [
            models.Index(fields=["survey", "status"], name="invitation_survey_status"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.survey}"

    @property
    def awaits_answer(self) -> bool:
        """Delivered and not answered yet: the ones a reminder is for."""
        return self.status in (self.Status.SENT, self.Status.OPENED)


class Response(models.Model):
    class Channel(models.TextChoices):
        LINK = "link", "Public link"
        EMBED = "embed", "Embedded"
        EMAIL = "email", "Email invitation"
        KIOSK = "kiosk", "Kiosk"
        API = "api", "API"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.LINK)
    # Set by kiosks and API clients so a repeated sync or retry never counts twice.
    client_uuid = models.UUIDField(null=True, blank=True)
    customer = models.ForeignKey(
        "feedback.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses_collected",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "client_uuid"],
                condition=Q(client_uuid__isnull=False),
                name="response_client_uuid_unique_in_survey",
            ),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.survey}"


class Answer(models.Model):
    """One answer; ``number`` holds scores (NPS, CSAT, CES, Likert, stars, yes=1/no=0)."""

    # No index of its own: the unique (response, question) index serves every look-up by
    # response (one index less to write per answer).
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    number = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)
    choices = models.JSONField(default=list, blank=True)
    feedback = models.OneToOneField(
        "feedback.Feedback",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_answer",
        help_text="Free-text answers become feedback (channel survey).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="one_answer_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.key}: {self.number if self.number is not None else self.text}"


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key`` header, to replay.

    Generic on purpose (any endpoint can use ``surveys.idempotency.run_idempotent``):
    ``scope`` names who sent it (``key:<api key id>`` or ``user:<id>``) so two clients
    never share keys, ``request_sha256`` fingerprints the method, path and body so a
    reused key with another request is refused, and the stored status and JSON body are
    returned unchanged on a retry. Rows older than ``IDEMPOTENCY_TTL`` may be deleted.
    """

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key"], name="idempotency_key_unique_in_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} → {self.status_code}"
