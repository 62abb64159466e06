from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class IdeaQuerySet(models.QuerySet):
    def live(self) -> IdeaQuerySet:
        """Ideas not merged into another one."""
        return self.filter(merged_into__isnull=True)

    def open(self) -> IdeaQuerySet:
        return self.live().exclude(status__in=[Idea.Status.SHIPPED, Idea.Status.DECLINED])


class Idea(models.Model):
    """An opportunity born from a pain point, with its evidence, priority and roadmap place."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        UNDER_REVIEW = "under_review", "Under review"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        SHIPPED = "shipped", "Shipped"
        DECLINED = "declined", "Declined"

    class Origin(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        SUGGESTED = "suggested", "Suggested from a theme"
        PROMOTED = "promoted", "Promoted from customization requests"
        API = "api", "API"

    class Lane(models.TextChoices):
        NOW = "now", "Now"
        NEXT = "next", "Next"
        LATER = "later", "Later"

    class ImpactResult(models.TextChoices):
        IMPROVED = "improved", "Improved"
        NO_CHANGE = "no_change", "No change"
        WORSE = "worse", "Worse"
        NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"

    title = models.CharField(max_length=200)
    problem = models.TextField("problem statement")
    proposed_solution = models.TextField(blank=True)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="ideas"
    )
    theme = models.ForeignKey(
        "insights.Theme", null=True, blank=True, on_delete=models.SET_NULL, related_name="ideas"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_ideas",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)

    # Prioritisation. Reach is computed from the evidence (segment-weighted unique customers);
    # impact, confidence, effort and value are set by managers.
    reach = models.FloatField(default=0)
    impact = models.FloatField(null=True, blank=True, help_text="0.25 minimal … 3 massive")
    confidence = models.FloatField(null=True, blank=True, help_text="0–1")
    effort = models.FloatField(null=True, blank=True, help_text="person-months, > 0")
    value = models.FloatField(null=True, blank=True, help_text="business value 1–10")
    rice_score = models.FloatField(null=True, blank=True)
    value_effort_score = models.FloatField(null=True, blank=True)

    # Evidence numbers, recomputed nightly and whenever evidence changes.
    evidence_count = models.PositiveIntegerField(default=0)
    customer_count = models.PositiveIntegerField(default=0)
    internal_customer_count = models.PositiveIntegerField(default=0)
    external_customer_count = models.PositiveIntegerField(default=0)
    value_at_stake = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # {"segment name": unique customers in it, ...}
    segment_counts = models.JSONField(default=dict, blank=True)
    vote_count = models.PositiveIntegerField(default=0)
    evidence_refreshed_at = models.DateTimeField(null=True, blank=True)

    # Roadmap and changelog.
    lane = models.CharField(max_length=5, choices=Lane.choices, blank=True)
    lane_position = models.PositiveIntegerField(default=0)
    public = models.BooleanField(default=False, help_text="Shown on the public roadmap.")
    release_note = models.TextField(blank=True, help_text="What changed, for customers.")
    shipped_at = models.DateTimeField(null=True, blank=True)

    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_ideas"
    )

    # The Check of Plan-Do-Check-Act, a set number of weeks after shipping.
    impact_check_due = models.DateField(null=True, blank=True)
    impact_result = models.CharField(max_length=16, choices=ImpactResult.choices, blank=True)
    impact_details = models.JSONField(default=dict, blank=True)
    impact_checked_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IdeaQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_ideas", "Can manage the innovation backlog")]
        constraints = [
            models.CheckConstraint(
                condition=Q(effort__isnull=True) | Q(effort__gt=0), name="idea_effort_positive"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="idea_confidence_0_1",
            ),
        ]
        indexes = [models.Index(fields=["status", "lane", "lane_position"], name="idea_roadmap")]

    def __str__(self) -> str:
        return self.title


class IdeaStatusChange(models.Model):
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '–'} → {self.to_status}"

    @property
    def from_label(self) -> str:
        """The status before, as people read it ("Under review"); empty for the first row."""
        return Idea.Status(self.from_status).label if self.from_status else ""

    @property
    def to_label(self) -> str:
        return Idea.Status(self.to_status).label


class IdeaEvidence(models.Model):
    """A piece of feedback that shows the pain an idea addresses."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Linked by hand"
        SIMILAR = "similar", "Confirmed from find similar"
        SUGGESTION = "suggestion", "From a suggested idea"
        PROMOTION = "promotion", "From a promoted customization"
        API = "api", "API"

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="evidence")
    feedback = models.ForeignKey(
        "feedback.Feedback", on_delete=models.CASCADE, related_name="idea_evidence"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    similarity = models.FloatField(null=True, blank=True)
    # Set when a merge moved this link here, so the merge can be undone.
    merged_from = models.ForeignKey(
        Idea, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idea", "feedback"], name="one_link_per_idea_feedback")
        ]

    def __str__(self) -> str:
        return f"idea {self.idea_id} ← feedback #{self.feedback_id}"


class IdeaVote(models.Model):
    """A customer (or a staff member on their behalf) wanting the idea."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="votes")
    customer = models.ForeignKey(
        "feedback.Customer", on_delete=models.CASCADE, related_name="idea_votes"
    )
    merged_from = models.ForeignKey(
        Idea, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["idea", "customer"], name="one_vote_per_customer")
        ]

    def __str__(self) -> str:
        return f"idea {self.idea_id} ← customer {self.customer_id}"


class SegmentWeight(models.Model):
    """How much a customer in this segment counts towards an idea's reach (default 1)."""

    segment = models.OneToOneField(
        "customization.Segment", on_delete=models.CASCADE, related_name="reach_weight"
    )
    weight = models.FloatField(default=1.0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0), name="segment_weight_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.segment}: ×{self.weight:g}"


class IdeaSuggestion(models.Model):
    """A theme that hurts and has no idea yet, proposed weekly for a manager to accept."""

    class Kind(models.TextChoices):
        EMERGING = "emerging", "Emerging negative theme"
        PAIN_POINT = "pain_point", "Large pain point"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    theme = models.ForeignKey(
        "insights.Theme", on_delete=models.CASCADE, related_name="idea_suggestions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    title = models.CharField(max_length=200)
    # The numbers when suggested: volume, negative share, customers, value at stake, window.
    numbers = models.JSONField(default=dict, blank=True)
    # Representative feedback ids, strongest first.
    evidence_ids = models.JSONField(default=list, blank=True)
    # Volume at dismissal: a dismissed theme comes back only when it grows significantly.
    dismissed_volume = models.PositiveIntegerField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    idea = models.ForeignKey(
        Idea, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["theme"],
                condition=Q(status="pending"),
                name="one_pending_suggestion_per_theme",
            )
        ]

    def __str__(self) -> str:
        return self.title


class LoopMessage(models.Model):
    """A customer told that what they asked for shipped (idea) or was delivered (customization).

    One per customer and item: the unique constraints make a re-run send nothing twice.
    """

    customer = models.ForeignKey(
        "feedback.Customer", on_delete=models.CASCADE, related_name="loop_messages"
    )
    idea = models.ForeignKey(
        Idea, null=True, blank=True, on_delete=models.CASCADE, related_name="loop_messages"
    )
    customization_request = models.ForeignKey(
        "customization.CustomizationRequest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="loop_messages",
    )
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(idea__isnull=False) & Q(customization_request__isnull=True))
                | (Q(idea__isnull=True) & Q(customization_request__isnull=False)),
                name="loop_message_for_one_item",
            ),
            models.UniqueConstraint(
                fields=["customer", "idea"],
                condition=Q(idea__isnull=False),
                name="one_loop_message_per_idea_customer",
            ),
            models.UniqueConstraint(
                fields=["customer", "customization_request"],
                condition=Q(customization_request__isnull=False),
                name="one_loop_message_per_request_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.email}"
