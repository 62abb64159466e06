"""Prioritisation formulas of the idea backlog. ORM-free: plain numbers in, numbers out.

* RICE = reach × impact × confidence ÷ effort, where reach is the segment-weighted
  number of unique customers behind the idea (evidence and votes).
* Value/effort = value ÷ effort.

A score is ``None`` while one of its inputs is missing: an unscored idea is shown as such,
not as a zero that would rank it below ideas scored at zero on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable


def rice(
    *, reach: float, impact: float | None, confidence: float | None, effort: float | None
) -> float | None:
    if impact is None or confidence is None or not effort:
        return None
    return reach * impact * confidence / effort


def value_effort(*, value: float | None, effort: float | None) -> float | None:
    if value is None or not effort:
        return None
    return value / effort


def weighted_reach(customer_weights: Iterable[Iterable[float]]) -> float:
    """Reach from each unique customer's segment weights.

    A customer counts once, with the highest weight of the segments they are in; a customer
    in no weighted segment counts 1 (pass an empty iterable for them)."""
    total = 0.0
    for weights in customer_weights:
        total += max(weights, default=1.0)
    return total


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


def rice_formula(
    *, reach: float, impact: float | None, confidence: float | None, effort: float | None
) -> str:
    """The RICE formula with the idea's numbers, as shown on the idea page."""
    score = rice(reach=reach, impact=impact, confidence=confidence, effort=effort)
    if score is None:
        missing = [
            name
            for name, value in (("impact", impact), ("confidence", confidence), ("effort", effort))
            if value is None
        ]
        return f"RICE = reach × impact × confidence ÷ effort (missing: {', '.join(missing)})"
    return (
        f"RICE = reach {_number(reach)} × impact {_number(impact)} × confidence "
        f"{_number(confidence)} ÷ effort {_number(effort)} = {_number(round(score, 2))}"
    )


def value_effort_formula(*, value: float | None, effort: float | None) -> str:
    score = value_effort(value=value, effort=effort)
    if score is None:
        missing = [name for name, v in (("value", value), ("effort", effort)) if v is None]
        return f"Value/effort = value ÷ effort (missing: {', '.join(missing)})"
    return (
        f"Value/effort = value {_number(value)} ÷ effort {_number(effort)} "
        f"= {_number(round(score, 2))}"
    )
