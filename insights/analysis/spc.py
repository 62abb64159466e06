"""Statistical process control charts over weekly subgroups, from plain counts and sums.

* **p-chart** of the weekly negative share. Subgroup sizes vary week to week, so every
  point has its own limits: ``p̄ ± 3 · √(p̄ (1 − p̄) / n_i)`` with ``p̄ = Σ negatives / Σ n``
  (the lower limit is clipped at 0, the upper at 1).
* **X̄-chart** of CSAT (an X̄-S chart with variable subgroup size): the centre line is the
  grand mean ``Σ n_i x̄_i / Σ n_i``; sigma is the pooled within-week standard deviation
  ``√(Σ (n_i − 1) s_i² / Σ (n_i − 1))`` (no c4 bias correction — with dozens of answers a
  week it is below 1 %), and each week's limits are ``x̄̄ ± 3 σ / √n_i``.

A point is **out of control** when it lies beyond its 3σ limits (Western Electric rule 1).
The other Western Electric run rules are reported beside it, on each point's z-score
``(x_i − centre) / σ_i`` so they work with variable limits:

* ``we2`` — 2 of 3 consecutive points beyond 2σ on the same side,
* ``we3`` — 4 of 5 consecutive points beyond 1σ on the same side,
* ``we4`` — 8 consecutive points on the same side of the centre line.

A week with no observations (n = 0) has no value and no limits and is skipped by the rules.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class ChartPoint:
    label: str
    n: int
    value: float | None
    centre: float | None
    lower: float | None
    upper: float | None
    z: float | None = None
    out_of_control: bool = False
    rules: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Chart:
    kind: str
    centre: float | None
    sigma: float | None
    points: list[ChartPoint]

    @property
    def out_of_control(self) -> list[ChartPoint]:
        return [p for p in self.points if p.out_of_control]

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "centre": self.centre,
            "sigma": self.sigma,
            "points": [p.as_dict() for p in self.points],
        }


def p_chart(subgroups: list[tuple[str, int, int]]) -> Chart:
    """p-chart from ``(label, defectives, n)`` per subgroup (e.g. week, negatives, analysed)."""
    total_defects = sum(d for _, d, n in subgroups if n > 0)
    total_n = sum(n for _, _, n in subgroups if n > 0)
    if any(d < 0 or n < 0 or d > n for _, d, n in subgroups):
        raise ValueError("need 0 ≤ defectives ≤ n in every subgroup")
    if total_n == 0:
        return Chart(
            kind="p",
            centre=None,
            sigma=None,
            points=[ChartPoint(label, n, None, None, None, None) for label, _, n in subgroups],
        )
    p_bar = total_defects / total_n
    points = []
    for label, defects, n in subgroups:
        if n == 0:
            points.append(ChartPoint(label, 0, None, p_bar, None, None))
            continue
        sigma_i = math.sqrt(p_bar * (1 - p_bar) / n)
        value = defects / n
        point = ChartPoint(
            label=label,
            n=n,
            value=value,
            centre=p_bar,
            lower=max(0.0, p_bar - 3 * sigma_i),
            upper=min(1.0, p_bar + 3 * sigma_i),
            z=((value - p_bar) / sigma_i) if sigma_i > 0 else 0.0,
        )
        points.append(point)
    _apply_rules(points)
    return Chart(kind="p", centre=p_bar, sigma=math.sqrt(p_bar * (1 - p_bar)), points=points)


def xbar_chart(subgroups: list[tuple[str, int, float | None, float | None]]) -> Chart:
    """X̄-S chart from ``(label, n, mean, sd)`` per subgroup, sigma pooled across subgroups."""
    usable = [(n, m, s) for _, n, m, s in subgroups if n > 0 and m is not None]
    total_n = sum(n for n, _, _ in usable)
    dof = sum(n - 1 for n, _, _ in usable)
    if total_n == 0:
        return Chart(
            kind="xbar",
            centre=None,
            sigma=None,
            points=[ChartPoint(label, n, m, None, None, None) for label, n, m, _ in subgroups],
        )
    grand_mean = sum(n * m for n, m, _ in usable) / total_n
    sigma = (
        math.sqrt(sum((n - 1) * (s or 0.0) ** 2 for n, _, s in usable) / dof) if dof > 0 else None
    )
    points = []
    for label, n, m, _ in subgroups:
        if n == 0 or m is None:
            points.append(ChartPoint(label, n, None, grand_mean, None, None))
            continue
        if sigma is None:
            points.append(ChartPoint(label, n, m, grand_mean, None, None))
            continue
        sigma_i = sigma / math.sqrt(n)
        points.append(
            ChartPoint(
                label=label,
                n=n,
                value=m,
                centre=grand_mean,
                lower=grand_mean - 3 * sigma_i,
                upper=grand_mean + 3 * sigma_i,
                z=((m - grand_mean) / sigma_i) if sigma_i > 0 else 0.0,
            )
        )
    _apply_rules(points)
    return Chart(kind="xbar", centre=grand_mean, sigma=sigma, points=points)


def _apply_rules(points: list[ChartPoint]) -> None:
    scored = [p for p in points if p.z is not None]
    for index, point in enumerate(scored):
        if abs(point.z) > 3:
            point.out_of_control = True
            point.rules.append("we1")
        for rule, window, needed, limit in (("we2", 3, 2, 2.0), ("we3", 5, 4, 1.0)):
            if index + 1 < window:
                continue
            recent = [p.z for p in scored[index + 1 - window : index + 1]]
            for sign in (1, -1):
                if sign * point.z > limit and sum(1 for z in recent if sign * z > limit) >= needed:
                    point.rules.append(rule)
                    break
        if index >= 7:
            recent = [p.z for p in scored[index - 7 : index + 1]]
            if all(z > 0 for z in recent) or all(z < 0 for z in recent):
                point.rules.append("we4")
