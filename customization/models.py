from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SegmentQuerySet(models.QuerySet):
    def live(self) -> SegmentQuerySet:
        """Segments in use: rule and accepted segments, not pending or discarded suggestions."""
        return self.filter(status=Segment.Status.ACTIVE)


class Segment(models.Model):
    """A named group of customers.

    A rule segment's members are the customers its ``rules`` match, materialised in
    ``customers`` by the membership refresh; a suggested segment comes from clustering and
    waits for a manager to accept, rename or discard it; a manual segment is curated by hand.
    """

    class Kind(models.TextChoices):
        RULE = "rule", "Rule"
        SUGGESTED = "suggested", "Suggested by clustering"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUGGESTED = "suggested", "Suggested"
        DISCARDED = "discarded", "Discarded"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Rule segments: [{"field": "tier", "op": "in", "value": ["premium"]}, ...], all must match.
    rules = models.JSONField(default=list, blank=True)
    customers = models.ManyToManyField("feedback.Customer", blank=True, related_name="segments")
    member_count = models.PositiveIntegerField(default=0)
    membership_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Suggested segments: what sets the cluster apart and what its customers talk about.
    traits = models.JSONField(default=list, blank=True)
    top_themes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("manage_segments", "Can define, accept and discard segments")]

    def __str__(self) -> str:
        return self.name


class CustomerPreference(models.Model):
    """What a customer stated they prefer (inferred preferences are computed, not stored)."""

    class Source(models.TextChoices):
        STAFF = "staff", "Recorded by staff"
        SURVEY = "survey", "Survey"
        INTERVIEW = "interview", "Interview"
        CUSTOMER = "customer", "Customer"
        API = "api", "API"

    customer = models.ForeignKey(
        "feedback.Customer", on_delete=models.CASCADE, related_name="preferences"
    )
    key = models.CharField(max_length=80)
    value = models.CharField(max_length=500)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    stated_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "key"], name="one_preference_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class CustomizationRequest(models.Model):
    """A tailored offering for one customer or one segment."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ASSESSED = "assessed", "Assessed"
        ACCEPTED = "accepted", "Accepted"
        DELIVERING = "delivering", "Delivering"
        DELIVERED = "delivered", "Delivered"
        DECLINED = "declined", "Declined"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    product = models.ForeignKey(
        "feedback.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customization_requests",
    )
    customer = models.ForeignKey(
        "feedback.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customization_requests",
    )
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customization_requests",
    )
    theme = models.ForeignKey(
        "insights.Theme",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customization_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customization_requests",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    due_date = models.DateField(null=True, blank=True)
    # Sum of the annual value of the customers it serves, kept by the service.
    value_at_stake = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # What was delivered, for the close-the-loop message.
    delivery_note = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    promoted_to = models.ForeignKey(
        "innovation.Idea",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="promoted_requests",
    )
    evidence = models.ManyToManyField(
        "feedback.Feedback",
        through="CustomizationEvidence",
        blank=True,
        related_name="customization_requests",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_customizations", "Can manage the customization backlog")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(customer__isnull=False) & Q(segment__isnull=True))
                | (Q(customer__isnull=True) & Q(segment__isnull=False)),
                name="customization_for_customer_or_segment",
                violation_error_message="A customization is for one customer or one segment.",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status in {self.Status.DELIVERED, self.Status.DECLINED}


class CustomizationEvidence(models.Model):
    request = models.ForeignKey(
        CustomizationRequest, on_delete=models.CASCADE, related_name="evidence_links"
    )
    feedback = models.ForeignKey(
        "feedback.Feedback", on_delete=models.CASCADE, related_name="customization_evidence"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "feedback"], name="one_link_per_request_feedback"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ← feedback #{self.feedback_id}"


class CustomizationStatusChange(models.Model):
    request = models.ForeignKey(
        CustomizationRequest, on_delete=models.CASCADE, related_name="history"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '–'} → {self.to_status}"
