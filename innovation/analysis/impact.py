"""Before/after comparison of a theme around a shipping day, and the regrowth test that lets a
dismissed idea suggestion come back. Plain numbers in, plain data out (no ORM).

The three impact tests reuse :mod:`insights.analysis.stats` (the dashboard's tests):

* **volume** — the theme's feedback in two equally long windows, compared with the exact
  conditional test of two Poisson rates (``count_difference``);
* **negative share** — negatives among analysed feedback, pooled two-proportion z-test
  (``proportion_difference``);
* **average sentiment** — Welch's t-test (``mean_difference``) over the *daily* average
  sentiments of each window. The theme rollup keeps a sum but not a sum of squares of the
  scores, so a day is the unit: the test asks whether an ordinary day after shipping
  differs from an ordinary day before.

The three p-values are Holm-adjusted together (``insights.analysis.emerging.holm_adjust``),
so "improved" or "worse" is claimed at ``alpha`` family-wise, not three chances at it.
Lower volume, lower negative share and higher sentiment are improvements. The result is
``improved`` when at least one metric improved significantly and none got significantly
worse, ``worse`` in the mirror case, ``no_change`` otherwise (nothing significant, or a
mix), and ``not_enough_data`` when the window before has fewer than ``MIN_ANALYSED``
analysed items (or none at all). When only the window after has fewer, the negative share
and the sentiment are not tested, and the volume alone decides: a significant fall is
``improved`` (the pain went away), a significant rise ``worse``, else ``not_enough_data``.
"""

from __future__ import annotations

from dataclasses import dataclass

from insights.analysis import stats
from insights.analysis.emerging import holm_adjust

IMPROVED = "improved"
NO_CHANGE = "no_change"
WORSE = "worse"
NOT_ENOUGH_DATA = "not_enough_data"

# Fewer analysed items than this in either window: the check does not guess.
MIN_ANALYSED = 10

# +1: a rise is an improvement; −1: a fall is.
_GOOD_DIRECTION = {"volume": -1, "negative_share": -1, "average_sentiment": +1}


@dataclass(frozen=True)
class Window:
    """One window's theme numbers, summed from the daily rollup."""

    days: int
    feedback_count: int
    analysed_count: int
    negative_count: int
    sentiment_sum: float
    # Average sentiment of each day with analysed feedback.
    daily_sentiment: tuple[float, ...] = ()

    @property
    def per_week(self) -> float:
        return round(self.feedback_count * 7 / self.days, 2) if self.days else 0.0

    @property
    def negative_share(self) -> float | None:
        return round(self.negative_count / self.analysed_count, 4) if self.analysed_count else None

    @property
    def average_sentiment(self) -> float | None:
        return round(self.sentiment_sum / self.analysed_count, 4) if self.analysed_count else None

    def as_dict(self) -> dict:
        return {
            "days": self.days,
            "volume": self.feedback_count,
            "volume_per_week": self.per_week,
            "analysed": self.analysed_count,
            "negative": self.negative_count,
            "negative_share": self.negative_share,
            "average_sentiment": self.average_sentiment,
            "days_with_sentiment": len(self.daily_sentiment),
        }


def compare_windows(before: Window, after: Window, *, alpha: float = 0.05) -> dict:
    """The impact verdict and its numbers: ``{"result", "before", "after", "tests", ...}``.

    Windows must be equally long (the volume test compares counts, not rates).
    """
    if before.days != after.days:
        raise ValueError("the windows must be equally long")
    details = {
        "alpha": alpha,
        "before": before.as_dict(),
        "after": after.as_dict(),
        "tests": {},
        "min_analysed": MIN_ANALYSED,
    }
    if before.feedback_count == 0 or before.analysed_count < MIN_ANALYSED:
        details["result"] = NOT_ENOUGH_DATA
        return details

    comparisons = {
        "volume": stats.count_difference(before.feedback_count, after.feedback_count, alpha=alpha),
        "negative_share": None,
        "average_sentiment": None,
    }
    # Too few analysed after shipping for a share or a mean — which is also what a pain
    # that went away looks like: the volume test needs no minimum, so it still speaks.
    enough_after = after.analysed_count >= MIN_ANALYSED
    if enough_after:
        comparisons["negative_share"] = stats.proportion_difference(
            (before.negative_count, before.analysed_count),
            (after.negative_count, after.analysed_count),
            alpha=alpha,
        )
        comparisons["average_sentiment"] = stats.mean_difference(
            stats.summary_of(before.daily_sentiment),
            stats.summary_of(after.daily_sentiment),
            alpha=alpha,
        )
    tested = {name: c for name, c in comparisons.items() if c is not None}
    adjusted = dict(zip(tested, holm_adjust([c.p_value for c in tested.values()]), strict=True))
    improved, worse = [], []
    for name, comparison in comparisons.items():
        if comparison is None:
            details["tests"][name] = {"tested": False}
            continue
        significant = adjusted[name] < alpha and comparison.difference != 0
        direction = _GOOD_DIRECTION[name] * (1 if comparison.difference > 0 else -1)
        if significant:
            (improved if direction > 0 else worse).append(name)
        details["tests"][name] = {
            "tested": True,
            "test": comparison.test,
            "difference": round(comparison.difference, 4),
            "ci_low": round(comparison.ci_low, 4),
            "ci_high": round(comparison.ci_high, 4),
            "p_value": comparison.p_value,
            "adjusted_p_value": adjusted[name],
            "significant": significant,
            "better": significant and direction > 0,
        }
    details["improved"] = improved
    details["worse"] = worse
    if improved and not worse:
        details["result"] = IMPROVED
    elif worse and not improved:
        details["result"] = WORSE
    elif not enough_after:
        details["result"] = NOT_ENOUGH_DATA
    else:
        details["result"] = NO_CHANGE
    return details


def daily_means(days: list[tuple[int, float]]) -> tuple[float, ...]:
    """Average sentiment of each day from ``(analysed, sentiment_sum)`` pairs; empty days out."""
    return tuple(total / analysed for analysed, total in days if analysed)


def regrown(
    *, dismissed_volume: int, current_volume: int, factor: float, alpha: float = 0.05
) -> dict:
    """Whether a theme's window volume grew by ``factor`` since a suggestion was dismissed,
    **and** significantly (same-length windows, the exact two-sided Poisson-rate test; only a
    rise counts). Returns ``{"regrown": bool, "ratio", "p_value"}``."""
    comparison = stats.count_difference(dismissed_volume, current_volume, alpha=alpha)
    ratio = current_volume / dismissed_volume if dismissed_volume else None
    big_enough = current_volume >= factor * dismissed_volume and current_volume > dismissed_volume
    return {
        "regrown": bool(big_enough and comparison.significant),
        "ratio": round(ratio, 4) if ratio is not None else None,
        "p_value": comparison.p_value,
        "dismissed_volume": dismissed_volume,
        "current_volume": current_volume,
    }
