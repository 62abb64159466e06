"""Monitoring: analysis runs, forecasts, alert rules, alerts and follow-up owners."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

__all__ = ["Alert", "AlertRule", "AnalysisRun", "Forecast", "ProductOwner"]


class AnalysisRunQuerySet(models.QuerySet):
    def running(self):
        return self.filter(status=AnalysisRun.Status.RUNNING)


class AnalysisRun(models.Model):
    """One run of a periodic analysis task: what it did, how far it got, how it ended."""

    class Kind(models.TextChoices):
        SWEEP = "sweep", "Sweep unanalysed feedback"
        ROLLUP = "rollup", "Rollup refresh"
        THEMES = "themes", "Theme discovery"
        FORECAST = "forecast", "Forecasts"
        ALERTS = "alerts", "Alert evaluation"
        RETRAIN = "retrain", "Sentiment model training"
        RESCORE = "rescore", "Re-score outdated feedback"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    task_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Rows the run processed (scored, recounted, forecast, evaluated…).
    rows = models.PositiveIntegerField(default=0)
    # Progress of a run that knows its size: ``done`` of ``total`` steps.
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AnalysisRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "-started_at"], name="analysisrun_kind_started")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(done__lte=models.F("total")),
                name="analysis_run_done_within_total",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def progress(self) -> float | None:
        """0–1 when the run knows its size, 1 once succeeded, else None."""
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    @property
    def percent(self) -> int | None:
        progress = self.progress
        return None if progress is None else round(progress * 100)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Forecast(models.Model):
    """The latest forecast of one weekly metric for one scope, with its backtest."""

    class Metric(models.TextChoices):
        VOLUME = "volume", "Feedback volume"
        SENTIMENT = "sentiment", "Average sentiment"
        NPS = "nps", "NPS"

    class Scope(models.TextChoices):
        OVERALL = "overall", "Overall"
        PRODUCT = "product", "Product"
        THEME = "theme", "Theme"

    metric = models.CharField(max_length=10, choices=Metric.choices)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.OVERALL)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    theme = models.ForeignKey(
        "insights.Theme", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # "overall", "product:<id>" or "theme:<id>": one forecast per metric and scope.
    scope_key = models.CharField(max_length=40)
    generated_at = models.DateTimeField()
    # Monday of the last complete week in the history; the forecast starts the week after.
    history_end = models.DateField()
    horizon = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=30)
    history_weeks = models.PositiveSmallIntegerField(default=0)
    interval = models.FloatField(default=0.9)
    # [{"week": "YYYY-MM-DD", "value": …, "lower": …, "upper": …}, …]
    points = models.JSONField(default=list)
    # The recent actuals the forecast continues: [{"week": …, "value": …}, …]
    history = models.JSONField(default=list, blank=True)
    # Rolling-origin backtest: origins, horizon, model/naive MAPE and sMAPE; empty when
    # the history was too short to test.
    backtest = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["metric", "scope_key"]
        constraints = [
            models.UniqueConstraint(fields=["metric", "scope_key"], name="one_forecast_per_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} · {self.scope_key}"

    @staticmethod
    def key_for(*, product_id: int | None = None, theme_id: int | None = None) -> str:
        """The ``scope_key`` of the forecast for one theme, one product, or overall."""
        if theme_id:
            return f"theme:{theme_id}"
        return f"product:{product_id}" if product_id else "overall"


class AlertRule(models.Model):
    """A manager's rule: alert when a metric over a window crosses a threshold or changes
    significantly against the window before.

    The filters narrow the rollup rows the metric is computed from, exactly as the
    dashboard's filters do: a theme reads the theme rollup, a segment the segment rollup,
    both the theme × segment one. A theme or segment a rule watches cannot be deleted
    (``PROTECT``: the admin names the rules in the way); one that goes out of use (a theme
    archived or merged, a segment no longer active) switches the rule off at its next
    evaluation, with the reason in ``inactive_reason``.
    """

    class Metric(models.TextChoices):
        VOLUME = "volume", "Feedback volume"
        NEGATIVE_SHARE = "negative_share", "Negative share (0–1)"
        AVERAGE_SENTIMENT = "average_sentiment", "Average sentiment (−1…1)"
        NPS = "nps", "NPS (−100…100)"
        CSAT_AVERAGE = "csat_average", "Average CSAT (1–5)"
        CSAT_SATISFIED = "csat_satisfied", "Satisfied share, CSAT 4–5 (0–1)"
        CES_AVERAGE = "ces_average", "Average CES (1–7)"

    class Condition(models.TextChoices):
        ABOVE = "above", "Rises above the threshold"
        BELOW = "below", "Falls below the threshold"
        SIGNIFICANT_CHANGE = "significant_change", "Changes significantly vs the window before"

    name = models.CharField(max_length=120)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=12, blank=True)
    customer_kind = models.CharField(max_length=10, blank=True)
    theme = models.ForeignKey(
        "insights.Theme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alert_rules",
    )
    segment = models.ForeignKey(
        "customization.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alert_rules",
    )
    condition = models.CharField(max_length=20, choices=Condition.choices)
    threshold = models.FloatField(null=True, blank=True)
    window_days = models.PositiveSmallIntegerField(default=7)
    # Below this many observations in the window the rule stays silent (noise, not news).
    min_count = models.PositiveIntegerField(default=20)
    active = models.BooleanField(default=True)
    # Set when the evaluator switched the rule off (its theme or segment went out of use);
    # saving the rule again clears it.
    inactive_reason = models.CharField(max_length=300, blank=True)
    notify_emails = models.JSONField(default=list, blank=True)
    notify_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [("manage_alerts", "Can create and edit alert rules and follow-up owners")]
        constraints = [
            models.CheckConstraint(
                condition=Q(condition="significant_change") | Q(threshold__isnull=False),
                name="alert_rule_threshold_needs_value",
            ),
            models.CheckConstraint(
                condition=Q(window_days__gte=1, window_days__lte=90),
                name="alert_rule_window_1_to_90_days",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        # A switched-off rule may keep a filter gone out of use (to be switched on again
        # once the theme is restored); an active one must watch something in use.
        problems = self.filters_out_of_use() if self.active else {}
        if problems:
            raise ValidationError(
                {
                    field: [f"{problem}; choose an active one or none."]
                    for field, problem in problems.items()
                }
            )

    def filters_out_of_use(self) -> dict[str, str]:
        """``{"theme": why, "segment": why}`` for a filter no longer in use: a theme not
        active (archived, merged, only proposed), a segment not active (a suggestion not
        accepted, or discarded)."""
        from customization.models import Segment

        from .themes import Theme

        problems = {}
        theme = self.theme if self.theme_id is not None else None
        if theme is not None and theme.status != Theme.Status.ACTIVE:
            if theme.status == Theme.Status.MERGED and theme.merged_into_id is not None:
                problems["theme"] = f"The theme “{theme}” was merged into “{theme.merged_into}”"
            else:
                problems["theme"] = f"The theme “{theme}” is {theme.get_status_display().lower()}"
        segment = self.segment if self.segment_id is not None else None
        if segment is not None and segment.status != Segment.Status.ACTIVE:
            problems["segment"] = (
                f"The segment “{segment}” is {segment.get_status_display().lower()}, not active"
            )
        return problems

    @property
    def fingerprint(self) -> str:
        """The condition the rule's alert stands for: ``rule:<pk>``, then the theme and
        segment it narrows to, so a rule whose theme or segment changed (by any door) is a
        new condition, and its old alert is not updated with figures of another scope."""
        parts = [f"rule:{self.pk}"]
        if self.theme_id is not None:
            parts.append(f"theme:{self.theme_id}")
        if self.segment_id is not None:
            parts.append(f"segment:{self.segment_id}")
        return ":".join(parts)


class AlertQuerySet(models.QuerySet):
    def unresolved(self):
        return self.exclude(status=Alert.Status.RESOLVED)


class Alert(models.Model):
    """A condition worth a look. One unresolved alert per fingerprint: while the condition
    lasts it is updated (last seen, evidence), never duplicated."""

    class Kind(models.TextChoices):
        RULE = "rule", "Alert rule"
        EMERGING_THEME = "emerging_theme", "Emerging theme"
        SENTIMENT_DROP = "sentiment_drop", "Sentiment drop"
        DETRACTOR_COMMENT = "detractor_comment", "Detractor with a comment"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    fingerprint = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    theme = models.ForeignKey(
        "insights.Theme", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    feedback = models.ForeignKey(
        "feedback.Feedback", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    times_seen = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Empty when the condition cleared by itself.
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.CharField(max_length=300, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        permissions = [("view_alerts", "Can see alerts and acknowledge or resolve them")]
        constraints = [
            # The database, not just the evaluator, guarantees no duplicate for an ongoing
            # condition, even when two evaluations race.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~Q(status="resolved"),
                name="one_unresolved_alert_per_fingerprint",
            ),
        ]
        indexes = [models.Index(fields=["status", "-last_seen_at"], name="alert_status_seen")]

    def __str__(self) -> str:
        return self.title

    @property
    def evidence_rows(self) -> list[tuple[str, str, str]]:
        """The evidence as the alerts page shows it (:func:`insights.alerts.evidence_rows`)."""
        from insights.alerts import evidence_rows

        return evidence_rows(self.evidence)


class ProductOwner(models.Model):
    """Who follows up on a product's detractors: their comments are assigned to this person."""

    product = models.OneToOneField(
        "feedback.Product", on_delete=models.CASCADE, related_name="follow_up_owner"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product__name"]

    def __str__(self) -> str:
        return f"{self.product} → {self.owner}"
