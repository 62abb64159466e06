"""Emerging items: a theme (or any counted item) whose weekly volume or negative share
rises significantly against its own recent baseline.

Each item comes with its last ``baseline + 1`` periods, oldest first; the last is the
current period. Two one-sided tests per item:

* **Volume** — the exact conditional test for two Poisson rates: given the current count
  ``c`` and the baseline total ``B`` over ``k`` periods, under "no change" ``c`` is
  Binomial(c + B, e_c / (e_c + e_B)) where the exposures are the periods' total volumes
  when given (a theme growing only because all feedback grew is not emerging) or 1 per
  period. It accounts for the uncertainty of a small baseline, so a rare theme that goes
  from 0–1 a week to 6 is caught while a common one moving within its noise is not.
* **Negative share** — Fisher's exact test (one-sided) of current negatives/total against
  the baseline's negatives/total.

Every p-value is Holm–Bonferroni adjusted over all tests run in one call (items × 2), so
the chance of any false alarm among many themes stays at ``alpha``. An item is flagged only
when the adjusted p-value is below ``alpha`` **and** the rise is material: at least
``min_count`` current items and a ratio of at least ``min_ratio`` to the baseline rate
(or share).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from scipy import stats as sps

BASELINE_PERIODS = 6


@dataclass(frozen=True)
class Period:
    count: int
    negative: int = 0
    # Total volume of all feedback in the period (the exposure); optional.
    total: int | None = None


@dataclass
class EmergingSignal:
    key: object
    metric: str  # "volume" or "negative_share"
    baseline: float
    current: float
    ratio: float | None
    p_value: float
    adjusted_p_value: float = 1.0
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["key"] = self.key
        return data


def _volume_test(periods: list[Period]) -> EmergingSignal | None:
    *base, current = periods
    base_total = sum(p.count for p in base)
    if all(p.total for p in periods):
        exposure_current = current.total
        exposure_base = sum(p.total for p in base)
    else:
        exposure_current, exposure_base = 1, len(base)
    share = exposure_current / (exposure_current + exposure_base)
    trials = current.count + base_total
    if trials == 0:
        return None
    p_value = float(sps.binom.sf(current.count - 1, trials, share))
    expected = base_total * exposure_current / exposure_base
    return EmergingSignal(
        key=None,
        metric="volume",
        baseline=round(base_total / len(base), 4),
        current=current.count,
        ratio=round(current.count / expected, 4) if expected > 0 else None,
        p_value=p_value,
        evidence={
            "baseline_counts": [p.count for p in base],
            "expected": round(expected, 4),
            "test": "poisson-conditional-binomial",
        },
    )


def _negative_share_test(periods: list[Period]) -> EmergingSignal | None:
    *base, current = periods
    base_neg = sum(p.negative for p in base)
    base_n = sum(p.count for p in base)
    if current.count == 0 or base_n == 0:
        return None
    _, p_value = sps.fisher_exact(
        [[current.negative, current.count - current.negative], [base_neg, base_n - base_neg]],
        alternative="greater",
    )
    base_share = base_neg / base_n
    current_share = current.negative / current.count
    return EmergingSignal(
        key=None,
        metric="negative_share",
        baseline=round(base_share, 4),
        current=round(current_share, 4),
        ratio=round(current_share / base_share, 4) if base_share > 0 else None,
        p_value=float(p_value),
        evidence={
            "baseline_negative": base_neg,
            "baseline_count": base_n,
            "current_negative": current.negative,
            "current_count": current.count,
            "test": "fisher-exact-greater",
        },
    )


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def detect_emerging(
    items: dict[object, list[Period]],
    *,
    alpha: float = 0.01,
    min_count: int = 5,
    min_ratio: float = 1.5,
    baseline_periods: int = BASELINE_PERIODS,
) -> list[EmergingSignal]:
    """Flagged signals, strongest first. Items with fewer than ``baseline_periods + 1``
    periods are compared with the baseline they have (at least 2 periods needed)."""
    candidates: list[EmergingSignal] = []
    for key, periods in items.items():
        periods = list(periods)[-(baseline_periods + 1) :]
        if len(periods) < 3:
            continue
        for test in (_volume_test, _negative_share_test):
            signal = test(periods)
            if signal is not None:
                signal.key = key
                candidates.append(signal)
    adjusted = holm_adjust([s.p_value for s in candidates])
    flagged = []
    for signal, p_adj in zip(candidates, adjusted, strict=True):
        signal.adjusted_p_value = p_adj
        current_items = (
            signal.current if signal.metric == "volume" else signal.evidence["current_negative"]
        )
        material = current_items >= min_count and (
            signal.ratio is None or signal.ratio >= min_ratio
        )
        if p_adj < alpha and material:
            flagged.append(signal)
    flagged.sort(key=lambda s: s.adjusted_p_value)
    return flagged
