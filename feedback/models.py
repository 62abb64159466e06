from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Customer(models.Model):
    class Kind(models.TextChoices):
        EXTERNAL = "external", "External"
        INTERNAL = "internal", "Internal"

    class Tier(models.TextChoices):
        FREE = "free", "Free"
        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"
        ENTERPRISE = "enterprise", "Enterprise"

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EXTERNAL)
    # Internal customers are other departments of the organisation.
    department = models.CharField(max_length=120, blank=True)
    account = models.CharField("account / company", max_length=200, blank=True)
    tier = models.CharField(max_length=12, choices=Tier.choices, default=Tier.STANDARD)
    annual_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    attributes = models.JSONField(default=dict, blank=True)
    consent_contact = models.BooleanField(
        default=False, help_text="May be contacted about their feedback (close the loop)."
    )
    consent_research = models.BooleanField(
        default=False, help_text="May be invited to surveys, interviews and focus groups."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="external") | ~Q(department=""),
                name="internal_customer_has_department",
                violation_error_message="An internal customer needs a department.",
            ),
            models.CheckConstraint(
                condition=Q(annual_value__gte=0), name="customer_annual_value_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FeedbackQuerySet(models.QuerySet):
    def unanalysed(self) -> FeedbackQuerySet:
        return self.filter(analysed_at__isnull=True)

    def for_customer_kind(self, kind: str) -> FeedbackQuerySet:
        return self.filter(customer__kind=kind)


class Feedback(models.Model):
    """What one customer said once, whatever the channel: the source of truth."""

    class Channel(models.TextChoices):
        FORM = "form", "Feedback form"
        SURVEY = "survey", "Survey"
        REVIEW = "review", "Online review"
        FOCUS_GROUP = "focus_group", "Focus group"
        INTERVIEW = "interview", "Interview"
        EMAIL = "email", "Email"
        API = "api", "API"
        IMPORT = "import", "Import"

    class Status(models.TextChoices):
        NEW = "new", "New"
        TRIAGED = "triaged", "Triaged"
        ACTIONED = "actioned", "Actioned"
        CLOSED = "closed", "Closed"

    class Sentiment(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"

    channel = models.CharField(max_length=12, choices=Channel.choices)
    # Where it came from inside the channel: "web form", "google", a survey slug, ...
    source = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    rating = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    rating_min = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    rating_max = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    # The rating mapped onto 0..1 so scales from different sources compare.
    rating_normalised = models.FloatField(null=True, blank=True)
    received_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    # Who wrote it when no customer record is linked (public form).
    submitter_name = models.CharField(max_length=200, blank=True)
    submitter_email = models.EmailField(blank=True)
    consent = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_feedback",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="feedback")

    sentiment_score = models.FloatField(null=True, blank=True)
    sentiment_label = models.CharField(
        max_length=10, choices=Sentiment.choices, blank=True, db_index=True
    )
    sentiment_model = models.CharField(max_length=60, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "feedback"
        permissions = [
            ("triage_feedback", "Can triage feedback in the inbox"),
            ("view_insights", "Can view the insights dashboard"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="feedback_unique_external_id_per_source",
            ),
            models.CheckConstraint(
                condition=Q(rating_normalised__isnull=True)
                | Q(rating_normalised__gte=0, rating_normalised__lte=1),
                name="feedback_rating_normalised_in_unit_range",
            ),
            models.CheckConstraint(
                condition=Q(sentiment_score__isnull=True)
                | Q(sentiment_score__gte=-1, sentiment_score__lte=1),
                name="feedback_sentiment_score_in_range",
            ),
        ]
        indexes = [
            # The analysis claim scans only pending rows.
            models.Index(
                fields=["id"],
                condition=Q(analysed_at__isnull=True),
                name="feedback_pending_analysis",
            ),
            models.Index(fields=["channel", "received_at"], name="feedback_channel_received"),
            models.Index(fields=["status", "received_at"], name="feedback_status_received"),
            models.Index(fields=["product", "received_at"], name="feedback_product_received"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk}"

    @property
    def is_analysed(self) -> bool:
        return self.analysed_at is not None
