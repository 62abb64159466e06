"""Sentiment labels from ratings given with the text: training labels the customer wrote.

A rating arrives normalised to 0..1 as (rating − min) / (max − min), higher is better
(a scale where low is good, such as the original 1–5 effort score, must be flipped before).

One pair of thresholds cannot reproduce every scale's convention, because the conventions
disagree at the same normalised value: 3 of 1–5 (0.5) is neutral while 6 of 0–10 (0.6)
is an NPS detractor; 4 of 1–5 (0.75) is positive while 8 of 0–10 (0.8) is an NPS passive.
So there is a default pair, right for 5-point scales (stars, CSAT), and per-scale pairs
that :func:`thresholds_for_scale` picks from the scale's bounds:

========================  =====================  ============  ==============  ==========
scale                     normalised             negative      neutral         positive
========================  =====================  ============  ==============  ==========
1–5 stars, CSAT 1–5       0, .25, .5, .75, 1     1–2 (< 0.4)   3               4–5 (≥ 0.7)
0–10 NPS                  0, .1, …, 1            0–6 (< 0.65)  7–8             9–10 (≥ 0.85)
1–7 CES (agreement)       0, 1/6, …, 1           1–3 (< 0.4)   4               5–7 (≥ 0.6)
========================  =====================  ============  ==============  ==========

Each threshold sits between two scale points, never on one, so float rounding of the
normalised value cannot move a rating across it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RatingThresholds:
    """Below ``negative_below`` is negative, from ``positive_from`` positive, neutral between."""

    negative_below: float
    positive_from: float

    def __post_init__(self):
        if not 0 <= self.negative_below <= self.positive_from <= 1:
            raise ValueError(
                "need 0 ≤ negative_below ≤ positive_from ≤ 1, got "
                f"{self.negative_below} and {self.positive_from}"
            )


# Stars and CSAT on 1–5 (also 0–5): 1–2 negative, 3 neutral, 4–5 positive.
FIVE_POINT = RatingThresholds(negative_below=0.4, positive_from=0.7)
# Net Promoter Score on 0–10: detractors 0–6, passives 7–8, promoters 9–10.
NPS = RatingThresholds(negative_below=0.65, positive_from=0.85)
# Customer effort on 1–7 ("the company made it easy": 1 strongly disagree … 7 strongly
# agree): 1–3 negative, 4 neutral, 5–7 positive.
SEVEN_POINT = RatingThresholds(negative_below=0.4, positive_from=0.6)

DEFAULT = FIVE_POINT


def rating_to_label(
    value_normalised: float | None,
    *,
    negative_below: float = DEFAULT.negative_below,
    positive_from: float = DEFAULT.positive_from,
) -> str | None:
    """ "negative", "neutral" or "positive" for a rating normalised to 0..1; None when
    there is no rating or it lies outside 0..1 (a bad import, not a label)."""
    RatingThresholds(negative_below, positive_from)  # validates the pair
    if value_normalised is None:
        return None
    value = float(value_normalised)
    if not 0 <= value <= 1:  # also rejects NaN
        return None
    if value < negative_below:
        return "negative"
    if value >= positive_from:
        return "positive"
    return "neutral"


def thresholds_for_scale(rating_min: float, rating_max: float) -> RatingThresholds:
    """The thresholds of the scale's convention: NPS for 0–10, seven-point for 1–7,
    five-point otherwise (1–5, 0–5, and scales without a fixed convention)."""
    bounds = (float(rating_min), float(rating_max))
    if bounds == (0.0, 10.0):
        return NPS
    if bounds == (1.0, 7.0):
        return SEVEN_POINT
    return FIVE_POINT


def label_for_rating(rating: float, rating_min: float, rating_max: float) -> str | None:
    """Label of a raw rating on its own scale, by :func:`thresholds_for_scale`."""
    if rating_max <= rating_min:
        return None
    thresholds = thresholds_for_scale(rating_min, rating_max)
    normalised = (float(rating) - float(rating_min)) / (float(rating_max) - float(rating_min))
    return rating_to_label(
        normalised,
        negative_below=thresholds.negative_below,
        positive_from=thresholds.positive_from,
    )
