from django.db import models


class DailyFeedbackStat(models.Model):
    """Feedback counted per day, channel, product and customer kind.

    The dashboard reads these rows, never the raw feedback. They are recomputed for the
    days a batch of analysis touched and for the recent days on a schedule.
    """

    day = models.DateField()
    channel = models.CharField(max_length=12)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer_kind = models.CharField(max_length=10)
    feedback_count = models.PositiveIntegerField(default=0)
    analysed_count = models.PositiveIntegerField(default=0)
    sentiment_sum = models.FloatField(default=0)
    negative_count = models.PositiveIntegerField(default=0)
    neutral_count = models.PositiveIntegerField(default=0)
    positive_count = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailystat_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.customer_kind}"
