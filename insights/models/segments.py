"""The segment rollup (the daily counters again, per customer segment) and the rollup
version stamp."""

from django.db import models

from .counters import AnswerCounters, FeedbackCounters


class DailySegmentStat(FeedbackCounters, AnswerCounters):
    """Feedback and survey scores of a segment's members per UTC day, segment, channel,
    product and customer kind, with the counters of :class:`DailyFeedbackStat` the
    dashboard reads (same definitions: survey scores under channel ``survey`` on the
    response's day; anonymous feedback has no segment).

    Recounted with the daily rollup (the same days) and for the whole history of a segment
    when its membership is refreshed, so segment filters and the segment ranking read
    these rows instead of the raw feedback.
    """

    day = models.DateField()
    segment = models.ForeignKey("customization.Segment", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=12)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer_kind = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(fields=["segment", "day"], name="segmentstat_segment_day"),
            models.Index(fields=["day"], name="segmentstat_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} segment {self.segment_id} {self.channel}"


class RollupVersion(models.Model):
    """One row whose token changes whenever the daily rollups are recounted; computed
    dashboard blocks are cached under it, so a recount makes them stale at once."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.token
