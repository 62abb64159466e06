"""Weighted random choice for the demo generator. Plain data, no ORM."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from itertools import accumulate


class Weighted:
    """Pick from options by weight with one ``rng.random()`` call."""

    __slots__ = ("options", "cum_weights", "total")

    def __init__(self, weighted: Sequence[tuple[object, float]]):
        self.options = [option for option, _ in weighted]
        self.cum_weights = list(accumulate(weight for _, weight in weighted))
        self.total = self.cum_weights[-1]

    def pick(self, rng: random.Random):
        return self.options[bisect.bisect_right(self.cum_weights, rng.random() * self.total)]
