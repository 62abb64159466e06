"""Themes and the codebook managers curate."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .counters import AnswerCounters, FeedbackCounters

__all__ = [
    "DailyThemeSegmentStat",
    "DailyThemeStat",
    "FeedbackTheme",
    "KeywordRule",
    "Theme",
    "ThemeModel",
]


class ThemeModelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class ThemeModel(models.Model):
    """One discovery run: the fitted theme space (vectorizers + LSA, a joblib file) that
    turns feedback into the vectors theme centroids live in. The newest is active."""

    version = models.PositiveIntegerField(unique=True)
    pipeline = models.CharField(max_length=40)
    artifact = models.CharField(max_length=255, help_text="joblib file under var/models/")
    trained_at = models.DateTimeField(auto_now_add=True)
    training_size = models.PositiveIntegerField(default=0)
    n_themes = models.PositiveIntegerField(default=0)
    # How k was chosen, the scores per k, seconds, how many themes matched / were proposed.
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)

    objects = ThemeModelQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_theme_model"
            )
        ]

    def __str__(self) -> str:
        return f"themes v{self.version}"


class ThemeQuerySet(models.QuerySet):
    def assignable(self):
        """Themes new feedback can land in: active and proposed, not archived or merged."""
        return self.filter(status__in=Theme.ASSIGNABLE_STATUSES)

    def in_use(self):
        """Themes of the curated codebook: active, not proposed, archived or merged (what
        an alert rule may watch)."""
        return self.filter(status=Theme.Status.ACTIVE)


class Theme(models.Model):
    """A topic feedback is about. Discovery proposes themes; managers curate the codebook.

    A curated theme (renamed, merged into, split, pinned by a manager) keeps its name and
    is never deleted by re-discovery; no theme is ever deleted by re-discovery.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"
        MERGED = "merged", "Merged"

    # The statuses of themes that take feedback (see ThemeQuerySet.assignable).
    ASSIGNABLE_STATUSES = (Status.ACTIVE, Status.PROPOSED)

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    top_terms = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    pinned = models.BooleanField(default=False)
    curated = models.BooleanField(default=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_by_model = models.ForeignKey(
        ThemeModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_themes"
    )
    # Unit centroid in the space of ``space_model``; empty for rule-only themes.
    centroid = models.JSONField(default=list, blank=True)
    space_model = models.ForeignKey(
        ThemeModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Representative feedback ids, nearest the centre first.
    quotes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ThemeQuerySet.as_manager()

    class Meta:
        ordering = ["-pinned", "name"]

    def __str__(self) -> str:
        return self.name

    def final_theme(self) -> "Theme":
        """The theme this one's feedback lives in: itself, or the end of its merge chain."""
        theme, seen = self, {self.pk}
        while theme.status == self.Status.MERGED and theme.merged_into_id is not None:
            theme = theme.merged_into
            if theme.pk in seen:  # a cycle written by hand: stop where it closes
                break
            seen.add(theme.pk)
        return theme


class KeywordRule(models.Model):
    """Feedback containing any of these keywords always carries the theme."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="keyword_rules")
    # Comma-separated words or phrases, matched as whole words, case-insensitively.
    keywords = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.theme}: {self.keywords}"

    @property
    def keyword_list(self) -> list[str]:
        return [word.strip() for word in self.keywords.split(",") if word.strip()]


class FeedbackTheme(models.Model):
    class Source(models.TextChoices):
        MODEL = "model", "Model"
        RULE = "rule", "Keyword rule"
        MANUAL = "manual", "Manual"

    feedback = models.ForeignKey(
        "feedback.Feedback", on_delete=models.CASCADE, related_name="themes"
    )
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="feedback_links")
    score = models.FloatField()
    source = models.CharField(max_length=6, choices=Source.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["feedback", "theme"], name="one_link_per_feedback_theme"
            )
        ]
        indexes = [models.Index(fields=["theme", "feedback"], name="feedbacktheme_theme")]

    def __str__(self) -> str:
        return f"#{self.feedback_id} → {self.theme_id} ({self.score:.2f})"


class ThemeRollupRow(FeedbackCounters, AnswerCounters):
    """What both theme rollups keep: the day, channel, product and customer kind, the
    feedback counters of the theme's feedback and the survey scores of :class:`DailyFeedbackStat`.

    A survey response's scores (NPS, CSAT, CES) count once for each theme that any of its
    text answers' feedback carries, keyed as :class:`DailyFeedbackStat` keys them: channel
    ``survey``, the response's submission day, the survey's product and the respondent's
    customer kind (the survey's audience when anonymous)."""

    day = models.DateField()
    channel = models.CharField(max_length=12)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer_kind = models.CharField(max_length=10)

    class Meta:
        abstract = True


class DailyThemeStat(ThemeRollupRow):
    """Feedback per day × theme × channel × product × customer kind (the theme rollup);
    a theme filter and a theme page read these rows."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="daily_stats")

    class Meta:
        # Two partial constraints because NULL products are distinct in a plain unique
        # constraint (NULLS NOT DISTINCT needs PostgreSQL 15 and is not on SQLite).
        constraints = [
            models.UniqueConstraint(
                fields=["day", "theme", "channel", "product", "customer_kind"],
                condition=Q(product__isnull=False),
                name="one_themestat_per_product",
            ),
            models.UniqueConstraint(
                fields=["day", "theme", "channel", "customer_kind"],
                condition=Q(product__isnull=True),
                name="one_themestat_without_product",
            ),
        ]
        indexes = [models.Index(fields=["day", "theme"], name="themestat_day_theme")]

    def __str__(self) -> str:
        return f"{self.day} {self.theme_id} {self.channel}"


class DailyThemeSegmentStat(ThemeRollupRow):
    """The theme rollup again per customer segment: a theme's feedback from a segment's
    members (anonymous feedback has no segment). Recounted with :class:`DailyThemeStat`
    (the same days) and for the whole history of a segment when its membership is
    refreshed."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey("customization.Segment", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["theme", "day"], name="themesegmentstat_theme_day"),
            models.Index(fields=["day"], name="themesegmentstat_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.theme_id} segment {self.segment_id}"
