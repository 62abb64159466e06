"""The counters every rollup keeps, defined once (abstract bases of the rollup models).

Sums of squares sit beside the sums so means get confidence intervals and control limits
without raw rows; ``insights.selectors`` holds the expressions that count them.
"""

from django.db import models


class FeedbackCounters(models.Model):
    """Feedback received, analysed and negative, and the sentiment sum and sum of squares."""

    feedback_count = models.PositiveIntegerField(default=0)
    analysed_count = models.PositiveIntegerField(default=0)
    negative_count = models.PositiveIntegerField(default=0)
    sentiment_sum = models.FloatField(default=0)
    sentiment_sq_sum = models.FloatField(default=0)

    class Meta:
        abstract = True


class AnswerCounters(models.Model):
    """Survey scores: NPS (0–10: promoters 9–10, passives 7–8, detractors 0–6), CSAT
    (1–5; "satisfied" counts the 4s and 5s) and CES (1–7, higher is easier)."""

    nps_promoters = models.PositiveIntegerField(default=0)
    nps_passives = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    csat_count = models.PositiveIntegerField(default=0)
    csat_sum = models.FloatField(default=0)
    csat_sq_sum = models.FloatField(default=0)
    csat_satisfied = models.PositiveIntegerField(default=0)
    ces_count = models.PositiveIntegerField(default=0)
    ces_sum = models.FloatField(default=0)
    ces_sq_sum = models.FloatField(default=0)

    class Meta:
        abstract = True
