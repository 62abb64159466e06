"""Estimates with confidence intervals and two-period comparisons, from plain counts and sums.

Every function takes summary numbers (counts, means, standard deviations) so it can be fed
from the daily rollup without touching raw feedback, and returns ``None`` when there is
not enough data to say anything (n = 0, or n < 2 where a variance is needed) instead of
raising.

Conventions:

* NPS is on the −100…100 scale. Each respondent scores +1 (promoter, 9–10), 0 (passive,
  7–8) or −1 (detractor, 0–6); NPS = 100 · mean. The variance of that per-respondent score
  is ``p_P + p_D − (p_P − p_D)²``, so SE(NPS) = 100 · √(var / n), and the interval is the
  normal one (the NPS is a mean of n independent bounded scores).
* Means use Student's t interval; two means are compared with Welch's t-test (unequal
  variances, Welch–Satterthwaite degrees of freedom).
* A proportion's interval is Wilson's score interval (sensible at 0 %, 100 % and small n);
  two proportions are compared with the pooled two-proportion z-test, and the interval of
  their difference is the unpooled (Wald) one.
* Comparisons are ``current − previous`` and two-sided. ``significant`` means
  ``p_value < alpha``; alpha defaults to ``INSIGHTS_SIGNIFICANCE_ALPHA`` (0.05).
* When each period is unanimous (one promoter before, one detractor now; CSAT 5, 5 then
  4, 4) the standard error of the difference comes out 0, which is no evidence of
  certainty: the test and the interval then use the spread of both periods taken
  together, as if nothing had changed (the pooled standard error, which the
  two-proportion test uses anyway). Intervals of a change stay on the metric's range
  (−200…200 NPS points, −1…1 for a share).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy import stats as sps

DEFAULT_ALPHA = 0.05
DEFAULT_CONFIDENCE = 0.95
# Below this many answers an interval says more about the method than the data (NPS of one
# detractor: −100 to −100); pages show "Too few answers" instead.
MIN_INTERVAL_N = 5


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    ci_low: float
    ci_high: float
    std_error: float
    n: int
    confidence: float
    method: str

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def has_interval(self) -> bool:
        """Whether the interval is worth showing: enough answers (:data:`MIN_INTERVAL_N`),
        or a count, whose exact interval is meaningful from one event."""
        return self.method == "poisson-exact" or self.n >= MIN_INTERVAL_N


@dataclass(frozen=True)
class Comparison:
    """``current − previous`` with its interval and a two-sided test."""

    difference: float
    ci_low: float
    ci_high: float
    std_error: float
    statistic: float
    p_value: float
    alpha: float
    significant: bool
    test: str
    previous: Estimate
    current: Estimate

    def as_dict(self) -> dict:
        data = asdict(self)
        data["previous"] = self.previous.as_dict()
        data["current"] = self.current.as_dict()
        return data


@dataclass(frozen=True)
class Summary:
    """n, mean and sample standard deviation of a set of values."""

    n: int
    mean: float
    sd: float


def summary_from_sums(n: int, total: float, sum_of_squares: float) -> Summary | None:
    """Rebuild n / mean / sample SD from the sums a rollup keeps (``None`` when n = 0)."""
    if n <= 0:
        return None
    mean = total / n
    if n < 2:
        return Summary(n=n, mean=mean, sd=0.0)
    variance = (sum_of_squares - n * mean * mean) / (n - 1)
    # Float cancellation leaves a tiny residue (even negative) for constant values.
    if variance <= 1e-12 * max(1.0, mean * mean):
        variance = 0.0
    return Summary(n=n, mean=mean, sd=math.sqrt(variance))


def summary_of(values) -> Summary | None:
    values = [float(v) for v in values]
    return summary_from_sums(len(values), sum(values), sum(v * v for v in values))


def _z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def _two_sided_normal_p(z: float) -> float:
    return float(2 * sps.norm.sf(abs(z)))


def _check_level(name: str, level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"{name} must be between 0 and 1, got {level!r}")


# --- NPS -------------------------------------------------------------------------------


def nps(
    promoters: int, passives: int, detractors: int, *, confidence: float = DEFAULT_CONFIDENCE
) -> Estimate | None:
    """Net Promoter Score (−100…100) with a normal interval; ``None`` without respondents."""
    _check_level("confidence", confidence)
    if min(promoters, passives, detractors) < 0:
        raise ValueError("counts cannot be negative")
    n = promoters + passives + detractors
    if n == 0:
        return None
    p_p, p_d = promoters / n, detractors / n
    variance = max(0.0, p_p + p_d - (p_p - p_d) ** 2)
    se = 100 * math.sqrt(variance / n)
    value = 100 * (p_p - p_d)
    half = _z(confidence) * se
    return Estimate(
        value=value,
        ci_low=max(-100.0, value - half),
        ci_high=min(100.0, value + half),
        std_error=se,
        n=n,
        confidence=confidence,
        method="nps-normal",
    )


def nps_difference(
    previous: tuple[int, int, int],
    current: tuple[int, int, int],
    *,
    alpha: float = DEFAULT_ALPHA,
) -> Comparison | None:
    """Compare two NPS from (promoters, passives, detractors) counts with a z-test."""
    _check_level("alpha", alpha)
    before, after = nps(*previous, confidence=1 - alpha), nps(*current, confidence=1 - alpha)
    if before is None or after is None:
        return None
    (p1, _, d1), (p2, _, d2) = previous, current
    n = before.n + after.n
    p_p, p_d = (p1 + p2) / n, (d1 + d2) / n
    pooled_variance = max(0.0, p_p + p_d - (p_p - p_d) ** 2)
    pooled_se = 100 * math.sqrt(pooled_variance * (1 / before.n + 1 / after.n))
    return _normal_comparison(
        before, after, alpha=alpha, test="nps-z", pooled_se=pooled_se, limit=200.0
    )


def _normal_comparison(
    before: Estimate, after: Estimate, *, alpha: float, test: str, pooled_se: float, limit: float
) -> Comparison:
    """The z-test and interval of ``after − before``; ``pooled_se`` stands in when the
    periods' own standard errors are both 0, and the interval is clipped to ±``limit``."""
    diff = after.value - before.value
    se = math.hypot(before.std_error, after.std_error) or pooled_se
    if se == 0:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p = 1.0 if diff == 0 else 0.0
    else:
        z = diff / se
        p = _two_sided_normal_p(z)
    half = _z(1 - alpha) * se
    return Comparison(
        difference=diff,
        ci_low=max(-limit, diff - half),
        ci_high=min(limit, diff + half),
        std_error=se,
        statistic=z,
        p_value=p,
        alpha=alpha,
        significant=p < alpha,
        test=test,
        previous=before,
        current=after,
    )


# --- Means -----------------------------------------------------------------------------


def mean(summary: Summary | None, *, confidence: float = DEFAULT_CONFIDENCE) -> Estimate | None:
    """Mean with Student's t interval; ``None`` for n < 2 (no variance to speak of)."""
    _check_level("confidence", confidence)
    if summary is None or summary.n < 2:
        return None
    se = summary.sd / math.sqrt(summary.n)
    half = float(sps.t.ppf(0.5 + confidence / 2, summary.n - 1)) * se
    return Estimate(
        value=summary.mean,
        ci_low=summary.mean - half,
        ci_high=summary.mean + half,
        std_error=se,
        n=summary.n,
        confidence=confidence,
        method="mean-t",
    )


def mean_difference(
    previous: Summary | None, current: Summary | None, *, alpha: float = DEFAULT_ALPHA
) -> Comparison | None:
    """Welch's two-sample t-test of ``current.mean − previous.mean``."""
    _check_level("alpha", alpha)
    before = mean(previous, confidence=1 - alpha)
    after = mean(current, confidence=1 - alpha)
    if before is None or after is None:
        return None
    diff = after.value - before.value
    va, vb = before.std_error**2, after.std_error**2
    se = math.sqrt(va + vb)
    if se == 0 and diff == 0:
        return Comparison(
            difference=diff, ci_low=diff, ci_high=diff, std_error=0.0, statistic=0.0,
            p_value=1.0, alpha=alpha, significant=False,
            test="welch-t", previous=before, current=after,
        )  # fmt: skip
    if se == 0:
        return _pooled_mean_difference(previous, current, alpha=alpha, before=before, after=after)
    df = (va + vb) ** 2 / (va**2 / (before.n - 1) + vb**2 / (after.n - 1))
    t = diff / se
    p = float(2 * sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(1 - alpha / 2, df)) * se
    return Comparison(
        difference=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        std_error=se,
        statistic=t,
        p_value=p,
        alpha=alpha,
        significant=p < alpha,
        test="welch-t",
        previous=before,
        current=after,
    )


def _pooled_mean_difference(
    previous: Summary, current: Summary, *, alpha: float, before: Estimate, after: Estimate
) -> Comparison:
    """Student's t of two means whose periods have no spread of their own (each answer of a
    period the same), on the variance of all answers of both periods taken together: the
    spread there would be if nothing had changed; n₁ + n₂ − 2 degrees of freedom."""
    n1, n2 = previous.n, current.n
    diff = current.mean - previous.mean
    between = n1 * n2 / (n1 + n2) * diff**2
    squares = (n1 - 1) * previous.sd**2 + (n2 - 1) * current.sd**2 + between
    se = math.sqrt(squares / (n1 + n2 - 1) * (1 / n1 + 1 / n2))
    df = n1 + n2 - 2
    t = diff / se
    half = float(sps.t.ppf(1 - alpha / 2, df)) * se
    p = float(2 * sps.t.sf(abs(t), df))
    return Comparison(
        difference=diff, ci_low=diff - half, ci_high=diff + half, std_error=se, statistic=t,
        p_value=p, alpha=alpha, significant=p < alpha, test="pooled-t",
        previous=before, current=after,
    )  # fmt: skip


# --- Proportions -----------------------------------------------------------------------


def proportion(
    successes: int, n: int, *, confidence: float = DEFAULT_CONFIDENCE
) -> Estimate | None:
    """Share with Wilson's score interval; ``None`` when n = 0."""
    _check_level("confidence", confidence)
    if n < 0 or successes < 0 or successes > n:
        raise ValueError("need 0 ≤ successes ≤ n")
    if n == 0:
        return None
    p = successes / n
    z = _z(confidence)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Estimate(
        value=p,
        # Wilson's interval always contains p; min/max only undo float rounding at 0 and 1.
        ci_low=max(0.0, min(p, centre - half)),
        ci_high=min(1.0, max(p, centre + half)),
        std_error=math.sqrt(p * (1 - p) / n),
        n=n,
        confidence=confidence,
        method="wilson",
    )


def proportion_difference(
    previous: tuple[int, int], current: tuple[int, int], *, alpha: float = DEFAULT_ALPHA
) -> Comparison | None:
    """Two-proportion z-test (pooled) of ``current − previous`` from (successes, n) pairs."""
    _check_level("alpha", alpha)
    (x1, n1), (x2, n2) = previous, current
    before = proportion(x1, n1, confidence=1 - alpha)
    after = proportion(x2, n2, confidence=1 - alpha)
    if before is None or after is None:
        return None
    diff = after.value - before.value
    pooled = (x1 + x2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se_pooled == 0:
        z, p = 0.0, 1.0  # both all-successes or all-failures: identical
    else:
        z = diff / se_pooled
        p = _two_sided_normal_p(z)
    se = math.hypot(before.std_error, after.std_error) or se_pooled
    half = _z(1 - alpha) * se
    return Comparison(
        difference=diff,
        ci_low=max(-1.0, diff - half),
        ci_high=min(1.0, diff + half),
        std_error=se,
        statistic=z,
        p_value=p,
        alpha=alpha,
        significant=p < alpha,
        test="two-proportion-z",
        previous=before,
        current=after,
    )


# --- Counts (volume) ---------------------------------------------------------------------


def count(events: int, *, confidence: float = DEFAULT_CONFIDENCE) -> Estimate:
    """A Poisson count with its exact (Garwood) interval."""
    _check_level("confidence", confidence)
    tail = (1 - confidence) / 2
    low = 0.0 if events == 0 else float(sps.chi2.ppf(tail, 2 * events) / 2)
    high = float(sps.chi2.ppf(1 - tail, 2 * events + 2) / 2)
    return Estimate(
        value=float(events), ci_low=low, ci_high=high, std_error=math.sqrt(events),
        n=events, confidence=confidence, method="poisson-exact",
    )  # fmt: skip


def count_difference(previous: int, current: int, *, alpha: float = DEFAULT_ALPHA) -> Comparison:
    """Two counts over equally long windows: the exact conditional (binomial) test of
    equal Poisson rates, two-sided."""
    _check_level("alpha", alpha)
    before, after = count(previous, confidence=1 - alpha), count(current, confidence=1 - alpha)
    total = previous + current
    p = 1.0 if total == 0 else float(sps.binomtest(current, total, 0.5).pvalue)
    diff = float(current - previous)
    se = math.sqrt(total)
    half = _z(1 - alpha) * se
    return Comparison(
        difference=diff, ci_low=diff - half, ci_high=diff + half, std_error=se,
        statistic=diff / se if se else 0.0, p_value=p, alpha=alpha, significant=p < alpha,
        test="poisson-conditional-binomial", previous=before, current=after,
    )  # fmt: skip


# --- Rollup metrics -------------------------------------------------------------------------
# ``sums`` is a dict of the daily rollup's counters summed over a window.

METRICS = (
    "volume",
    "negative_share",
    "average_sentiment",
    "nps",
    "csat_average",
    "csat_satisfied",
    "ces_average",
)


def metric_sample_size(metric: str, sums: dict) -> int:
    return int(
        {
            "volume": sums.get("feedback_count", 0),
            "negative_share": sums.get("analysed_count", 0),
            "average_sentiment": sums.get("analysed_count", 0),
            "nps": sums.get("nps_promoters", 0)
            + sums.get("nps_passives", 0)
            + sums.get("nps_detractors", 0),
            "csat_average": sums.get("csat_count", 0),
            "csat_satisfied": sums.get("csat_count", 0),
            "ces_average": sums.get("ces_count", 0),
        }[metric]
    )


def _summary(sums: dict, n_key: str, prefix: str) -> Summary | None:
    return summary_from_sums(
        int(sums.get(n_key, 0)), sums.get(f"{prefix}_sum", 0.0), sums.get(f"{prefix}_sq_sum", 0.0)
    )


def metric_estimate(
    metric: str, sums: dict, *, confidence: float = DEFAULT_CONFIDENCE
) -> Estimate | None:
    """The metric's value over a window, with its interval; ``None`` without data."""
    if metric == "volume":
        return count(int(sums.get("feedback_count", 0)), confidence=confidence)
    if metric == "negative_share":
        return proportion(
            int(sums.get("negative_count", 0)), int(sums.get("analysed_count", 0)),
            confidence=confidence,
        )  # fmt: skip
    if metric == "average_sentiment":
        return mean(_summary(sums, "analysed_count", "sentiment"), confidence=confidence)
    if metric == "nps":
        return nps(
            int(sums.get("nps_promoters", 0)), int(sums.get("nps_passives", 0)),
            int(sums.get("nps_detractors", 0)), confidence=confidence,
        )  # fmt: skip
    if metric == "csat_average":
        return mean(_summary(sums, "csat_count", "csat"), confidence=confidence)
    if metric == "csat_satisfied":
        return proportion(
            int(sums.get("csat_satisfied", 0)), int(sums.get("csat_count", 0)),
            confidence=confidence,
        )  # fmt: skip
    if metric == "ces_average":
        return mean(_summary(sums, "ces_count", "ces"), confidence=confidence)
    raise ValueError(f"unknown metric {metric!r}")


def metric_comparison(
    metric: str, previous: dict, current: dict, *, alpha: float = DEFAULT_ALPHA
) -> Comparison | None:
    """``current − previous`` for a metric over two windows, with the metric's own test."""
    if metric == "volume":
        return count_difference(
            int(previous.get("feedback_count", 0)), int(current.get("feedback_count", 0)),
            alpha=alpha,
        )  # fmt: skip
    if metric in ("negative_share", "csat_satisfied"):
        hit, n = (
            ("negative_count", "analysed_count")
            if metric == "negative_share"
            else ("csat_satisfied", "csat_count")
        )
        return proportion_difference(
            (int(previous.get(hit, 0)), int(previous.get(n, 0))),
            (int(current.get(hit, 0)), int(current.get(n, 0))),
            alpha=alpha,
        )
    if metric == "nps":
        keys = ("nps_promoters", "nps_passives", "nps_detractors")
        return nps_difference(
            tuple(int(previous.get(k, 0)) for k in keys),
            tuple(int(current.get(k, 0)) for k in keys),
            alpha=alpha,
        )
    n_key, prefix = {
        "average_sentiment": ("analysed_count", "sentiment"),
        "csat_average": ("csat_count", "csat"),
        "ces_average": ("ces_count", "ces"),
    }[metric]
    return mean_difference(
        _summary(previous, n_key, prefix), _summary(current, n_key, prefix), alpha=alpha
    )
