"""Sentiment models and corrections, daily rollups and the days waiting for a recount."""

from django.conf import settings
from django.db import models

from .counters import AnswerCounters, FeedbackCounters


class DailyFeedbackStat(FeedbackCounters, AnswerCounters):
    """Feedback and survey scores counted per UTC day, channel, product and customer kind.

    The dashboard reads these rows, never the raw feedback. They are recomputed for the
    days a batch of analysis touched and for the recent days on a schedule.

    Survey scores (NPS, CSAT, CES answers) are counted under channel ``survey`` on the day
    the response was submitted, with the survey's product and the respondent's customer
    kind (the survey's audience when the respondent is anonymous). Sums of squares are kept
    beside the sums so means get confidence intervals and control limits without raw rows.
    There is no segment dimension yet: customer segments are a placeholder.
    """

    day = models.DateField()
    channel = models.CharField(max_length=12)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer_kind = models.CharField(max_length=10)
    neutral_count = models.PositiveIntegerField(default=0)
    positive_count = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailystat_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.customer_kind}"


class SentimentModelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class SentimentModel(models.Model):
    """One version of the sentiment model: the lexicon it starts from, or one trained on
    the organisation's own rated and corrected feedback. Exactly one is active."""

    class Kind(models.TextChoices):
        LEXICON = "lexicon", "Lexicon (VADER)"
        TRAINED = "trained", "Trained on own feedback"

    version = models.PositiveIntegerField(unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    trained_at = models.DateTimeField(auto_now_add=True)
    training_size = models.PositiveIntegerField(default=0)
    # Held-out scores of this model and of the model that was active when it was trained.
    metrics = models.JSONField(default=dict, blank=True)
    artifact = models.CharField(
        max_length=255, blank=True, help_text="joblib file under var/models/"
    )
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)

    objects = SentimentModelQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_sentiment_model",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """What is written into Feedback.sentiment_model for rows this version scored."""
        if self.kind == self.Kind.LEXICON:
            from insights.analysis.sentiment import MODEL_NAME

            return MODEL_NAME
        return f"trained-v{self.version}"


class SentimentCorrection(models.Model):
    """A staff member's verdict on a feedback's sentiment: it overrides the model's label
    and is the strongest training label there is."""

    feedback = models.OneToOneField(
        "feedback.Feedback", on_delete=models.CASCADE, related_name="sentiment_correction"
    )
    label = models.CharField(
        max_length=10,
        choices=[
            ("negative", "Negative"),
            ("neutral", "Neutral"),
            ("positive", "Positive"),
        ],
    )
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    corrected_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"#{self.feedback_id} → {self.label}"


class DirtyRollupDay(models.Model):
    """A UTC day whose rollup rows are stale: analysis marks it, the sweep recounts it.

    Recounting a whole day on every small analysis batch cost more CPU than the analysis
    itself under load; marking is one cheap insert and the sweep recounts each day once.
    """

    day = models.DateField(unique=True)

    def __str__(self) -> str:
        return str(self.day)
