"""Trend statistics for the trends page: two periods compared with confidence intervals
and tests, and weekly control charts, all from the daily rollup."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from . import selectors
from .analysis import spc, stats

METRIC_LABELS = {
    "volume": "Feedback volume",
    "negative_share": "Negative share",
    "average_sentiment": "Average sentiment (−1…1)",
    "nps": "NPS",
    "csat_average": "Average CSAT (1–5)",
    "csat_satisfied": "CSAT satisfied share (4–5)",
    "ces_average": "Average CES (1–7)",
}


# The periods the trends page compares (days before today against the same before that).
TREND_PERIODS = (7, 14, 30, 90)


def trends_query(scope) -> str:
    """The trends page's query for a dashboard scope: its product, and its period when the
    dashboard shows one of the trends page's periods."""
    query = {}
    if scope.product is not None:
        query["product"] = scope.product.slug
    if scope.days in TREND_PERIODS:
        query["days"] = scope.days
    return urlencode(query)


def period_comparison(
    *, days: int = 30, today: dt.date | None = None, product_id: int | None = None
) -> dict:
    """Each metric over the last ``days`` days against the ``days`` before, with the
    metric's interval and two-sided test at ``INSIGHTS_SIGNIFICANCE_ALPHA``; volume over
    the ``days`` full days ending yesterday against the ``days`` before them."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    sums = selectors.period_sums(days=days, today=today, product_id=product_id)
    alpha = settings.INSIGHTS_SIGNIFICANCE_ALPHA
    rows = []
    for metric in stats.METRICS:
        current, previous = sums.of(metric)
        comparison = stats.metric_comparison(metric, previous, current, alpha=alpha)
        rows.append(
            {
                "metric": metric,
                "label": METRIC_LABELS[metric],
                "current": stats.metric_estimate(metric, current, confidence=1 - alpha),
                "previous": stats.metric_estimate(metric, previous, confidence=1 - alpha),
                "comparison": comparison,
                "n_current": stats.metric_sample_size(metric, current),
                "n_previous": stats.metric_sample_size(metric, previous),
            }
        )
    return {
        "rows": rows,
        "alpha": alpha,
        "confidence": round((1 - alpha) * 100),
        "current_window": (sums.start, today),
        "previous_window": (sums.before, sums.start - dt.timedelta(days=1)),
        "volume_window": (sums.volume_start, sums.volume_end - dt.timedelta(days=1)),
        "volume_previous_window": (sums.volume_before, sums.volume_start - dt.timedelta(days=1)),
    }


def control_charts(*, weeks: int = 26, today: dt.date | None = None, product_id=None) -> dict:
    """Weekly p-chart of the negative share and X̄-chart of CSAT over complete weeks."""
    totals = selectors.weekly_rollup_totals(weeks=weeks, today=today, product_id=product_id)
    p_subgroups = [
        (week.isoformat(), int(s["negative_count"]), int(s["analysed_count"])) for week, s in totals
    ]
    x_subgroups = []
    for week, sums in totals:
        summary = stats.summary_from_sums(
            int(sums["csat_count"]), sums["csat_sum"], sums["csat_sq_sum"]
        )
        x_subgroups.append(
            (
                week.isoformat(),
                summary.n if summary else 0,
                summary.mean if summary else None,
                summary.sd if summary else None,
            )
        )
    return {"p": spc.p_chart(p_subgroups), "xbar": spc.xbar_chart(x_subgroups)}
