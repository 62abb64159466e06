from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# The largest id of a row (DEFAULT_AUTO_FIELD is BigAutoField, a signed 64-bit integer on
# PostgreSQL and SQLite alike): an id from outside that is larger matches no row, and SQLite
# cannot even take it as a parameter.
MAX_ID = 2**63 - 1


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
    # No index of its own: feedback_product_received (product, received_at) serves it.
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
        db_index=False,
    )
    # Who wrote it when no customer record is linked (public form).
    submitter_name = models.CharField(max_length=200, blank=True)
    submitter_email = models.EmailField(blank=True)
    consent = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    # Set when the retention period anonymised the text (PII masked, submitter removed).
    anonymised_at = models.DateTimeField(null=True, blank=True)

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
    # Not indexed: three values, never selective enough for an index to pay for its cost
    # on every insert and every analysis update.
    sentiment_label = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_model = models.CharField(max_length=60, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    # Mixed feedback ("delivery was fast but the app crashes"): its strongest positive and
    # strongest negative sentence, scored on their own.
    positive_excerpt = models.TextField(blank=True)
    positive_excerpt_score = models.FloatField(null=True, blank=True)
    negative_excerpt = models.TextField(blank=True)
    negative_excerpt_score = models.FloatField(null=True, blank=True)

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


class ReviewImport(models.Model):
    """One uploaded export of online reviews, its column mapping and how far it got.

    The counters move together, one committed batch at a time, so ``rows_processed`` is
    also where a re-run of the import carries on.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for the column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    class DateOrder(models.TextChoices):
        DMY = "dmy", "Day first (31/12/2024)"
        MDY = "mdy", "Month first (12/31/2024)"

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_imports",
    )
    uploaded_with_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Shown to people only: the stored file has a generated name.
    original_name = models.CharField(max_length=255, blank=True)
    stored_name = models.CharField(max_length=100, unique=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    file_format = models.CharField(max_length=4, choices=Format.choices)
    encoding = models.CharField(max_length=20)
    csv_dialect = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list)
    preview_rows = models.JSONField(default=list, blank=True)
    # Per column, from the first rows: numeric range and day/month hints for dates.
    column_profiles = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)

    source = models.CharField(max_length=100, blank=True)
    # Feedback field -> column name.
    mapping = models.JSONField(default=dict, blank=True)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating_min = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    rating_max = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    date_order = models.CharField(max_length=3, choices=DateOrder.choices, default=DateOrder.DMY)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    rows_processed = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("import_reviews", "Can import online reviews")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    rows_processed=models.F("rows_imported")
                    + models.F("rows_skipped")
                    + models.F("rows_duplicate")
                ),
                name="review_import_counts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"Review import #{self.pk} ({self.original_name or self.stored_name})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def delimiter_name(self) -> str:
        delimiter = self.csv_dialect.get("delimiter", "")
        return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}.get(
            delimiter, delimiter
        )

    @property
    def percent_done(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_processed * 100 // self.rows_total)


class ReviewImportError(models.Model):
    """A row an import skipped, and why."""

    review_import = models.ForeignKey(
        ReviewImport, on_delete=models.CASCADE, related_name="row_errors"
    )
    # CSV: the line the row starts on (the header is line 1). JSON: the item's position.
    line = models.PositiveIntegerField()
    reason = models.TextField()
    excerpt = models.CharField(max_length=200, blank=True)
    # The row as read, column -> value, so the skipped rows download as a file that can be
    # corrected and uploaded again. Empty for a row that could not be split into columns.
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["review_import", "line"]
        constraints = [
            # A re-run of a batch cannot list a row twice.
            models.UniqueConstraint(
                fields=["review_import", "line"], name="review_import_error_one_per_line"
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


# --- Research sessions: focus groups and interviews ------------------------------------


class FocusGroup(models.Model):
    """A moderated group session; what participants say is entered as it happens."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        HELD = "held", "Held"

    topic = models.CharField(max_length=200)
    scheduled_at = models.DateTimeField("date and time")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="focus_groups"
    )
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="focus_groups_moderated",
    )
    participants = models.ManyToManyField(
        Customer, blank=True, related_name="focus_groups", help_text="Internal or external."
    )
    agenda = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]

    def __str__(self) -> str:
        return self.topic

    @property
    def feedback_source(self) -> str:
        return f"focus-group-{self.pk}"


class FocusGroupEntry(models.Model):
    """A finding or a quote noted during a session; its words are stored as feedback."""

    class Kind(models.TextChoices):
        FINDING = "finding", "Finding"
        QUOTE = "quote", "Quote"

    focus_group = models.ForeignKey(FocusGroup, on_delete=models.CASCADE, related_name="entries")
    feedback = models.OneToOneField(
        Feedback, on_delete=models.CASCADE, related_name="focus_group_entry"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FINDING)
    participant = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="focus_group_entries",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["focus_group", "created_at", "id"]
        verbose_name_plural = "focus group entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in {self.focus_group}"


class Interview(models.Model):
    """One customer interview: its guide, notes and transcript."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="interviews")
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="interviews_conducted",
    )
    conducted_at = models.DateTimeField("date and time")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="interviews"
    )
    guide_questions = models.TextField(blank=True, help_text="One question per line.")
    notes = models.TextField(blank=True)
    transcript = models.TextField(blank=True)
    transcript_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-conducted_at", "-id"]

    def __str__(self) -> str:
        return f"Interview with {self.customer} on {self.conducted_at:%Y-%m-%d}"

    @property
    def feedback_source(self) -> str:
        return f"interview-{self.pk}"

    @property
    def guide_question_list(self) -> list[str]:
        return [line.strip() for line in self.guide_questions.splitlines() if line.strip()]


class InterviewHighlight(models.Model):
    """An excerpt of the transcript kept as feedback; offsets index the stored transcript."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="highlights")
    feedback = models.OneToOneField(
        Feedback, on_delete=models.CASCADE, related_name="interview_highlight"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["interview", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="interview_highlight_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"Highlight {self.start}–{self.end} of {self.interview}"


# --- Review sources polled on a schedule ------------------------------------------------


class ReviewSource(models.Model):
    """A JSON or RSS/Atom feed of reviews, polled every ``interval_minutes``."""

    class Kind(models.TextChoices):
        JSON_FEED = "json_feed", "JSON (JSON Feed 1.1 or an array of objects)"
        RSS_ATOM = "rss_atom", "RSS or Atom"

    name = models.CharField(max_length=120)
    # The feedback's ``source``: with the item id it keeps re-polls from importing twice.
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.URLField("feed URL", max_length=1000)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_sources"
    )
    # JSON only: item field -> dotted path in the item, e.g. {"text": "review.body"}.
    field_mapping = models.JSONField(default=dict, blank=True)
    rating_min = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    rating_max = models.DecimalField(max_digits=6, decimal_places=2, default=5)
    interval_minutes = models.PositiveIntegerField(default=60)
    active = models.BooleanField(default=True)

    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    items_imported = models.PositiveIntegerField(default=0)
    # Items the last poll that read the feed refused (a rating off the scale, no text…),
    # and the first few of them: [{"item": external id, "reason": message}].
    items_skipped_last_poll = models.PositiveIntegerField(default=0)
    skip_reasons = models.JSONField(default=list, blank=True)
    # Set while a worker polls the source: the per-source lock (stale after a while).
    polling_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_minutes__gte=1), name="review_source_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(rating_max__gt=models.F("rating_min")),
                name="review_source_rating_scale",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_failing(self) -> bool:
        return self.consecutive_failures > 0


# --- The inbox: saved views and internal notes ------------------------------------------


class SavedView(models.Model):
    """A named inbox filter (its query string), owned by one user.

    A shared view is listed for everyone with inbox access; only its owner changes or
    deletes it.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_inbox_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    shared = models.BooleanField(default=False, help_text="Listed for the whole team.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="saved_view_name_unique_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FeedbackNote(models.Model):
    """An internal note by staff on a feedback; never shown to the customer."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Shown when someone other than the author (an admin) changed the text.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["feedback", "created_at", "id"]

    def __str__(self) -> str:
        return f"Note on {self.feedback}"

    def may_be_edited_by(self, user) -> bool:
        """Its author (while they may triage) or whoever may change any note (admins)."""
        return self._is_authors_or(user, "feedback.change_feedbacknote")

    def may_be_deleted_by(self, user) -> bool:
        return self._is_authors_or(user, "feedback.delete_feedbacknote")

    def _is_authors_or(self, user, perm: str) -> bool:
        if not user.has_perm("feedback.triage_feedback"):
            return False
        is_author = self.author_id is not None and self.author_id == user.pk
        return is_author or user.has_perm(perm)


class ErasureRecord(models.Model):
    """A person's personal data erased: by whom, through which door, how many rows.

    The address is kept only as a SHA-256 digest, enough to answer "was this erased?".
    """

    class Via(models.TextChoices):
        LINK = "link", "Emailed link"
        STAFF = "staff", "Staff, in the admin"

    email_sha256 = models.CharField(max_length=64, db_index=True)
    via = models.CharField(max_length=5, choices=Via.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(default=dict)
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"erasure {self.email_sha256[:12]} ({self.get_via_display()})"
