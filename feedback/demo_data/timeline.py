"""When demo feedback arrives: a year of calendar days ending now. Plain data, no ORM.

Daily volume follows a linear growth trend, a weekday pattern (quiet weekends) and a few
holidays, with some day-to-day noise; within a day, office hours are busiest.
"""

from __future__ import annotations

import datetime as dt
import math
import random

HISTORY_DAYS = 365
# Daily volume grows linearly from TREND_START to TREND_START + TREND_GROWTH (mean 1).
TREND_START = 0.7
TREND_GROWTH = 0.6
WEEKDAY_FACTORS = (1.15, 1.12, 1.08, 1.05, 0.95, 0.55, 0.5)  # Monday first
HOLIDAYS = {(12, 24), (12, 25), (12, 26), (12, 31), (1, 1)}
HOLIDAY_FACTOR = 0.4
DAY_NOISE = 0.08
HOURLY_WEIGHTS = (
    1.0, 0.5, 0.3, 0.3, 0.4, 0.8, 1.5, 3.0, 5.0, 6.0, 6.5, 6.0,
    5.5, 6.0, 6.0, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5,
)  # fmt: skip


def estimated_age_days(position: float) -> float:
    """Days before now of the row at ``position`` (0 oldest .. 1 newest) of the year.

    Inverts the cumulative growth curve ``a·x + b·x²/2D`` (x = days since the start).
    """
    a, b, span = TREND_START, TREND_GROWTH, HISTORY_DAYS
    days_since_start = (math.sqrt(a * a + 2 * b * position) - a) * span / b
    return span - days_since_start


def day_counts(*, size: int, seed: int, now: dt.datetime) -> list[tuple[dt.datetime, int, int]]:
    """Rows per UTC calendar day over the year ending at ``now``: (day start, rows, hours).

    ``hours`` is how many hours of the day may hold rows (all 24, except today). The counts
    follow the growth trend, the weekday pattern and holidays, and add up to ``size``.
    """
    rng = random.Random(f"{seed}:timing")
    now = now.astimezone(dt.UTC)
    today = now.date()
    hourly_total = sum(HOURLY_WEIGHTS)
    days = []
    for offset in range(HISTORY_DAYS, -1, -1):
        day = today - dt.timedelta(days=offset)
        hours = now.hour if day == today else 24
        days_since_start = HISTORY_DAYS - offset + 0.5
        weight = TREND_START + TREND_GROWTH * days_since_start / HISTORY_DAYS
        weight *= WEEKDAY_FACTORS[day.weekday()]
        if (day.month, day.day) in HOLIDAYS:
            weight *= HOLIDAY_FACTOR
        weight *= math.exp(rng.gauss(0, DAY_NOISE))
        weight *= sum(HOURLY_WEIGHTS[:hours]) / hourly_total
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        days.append((start, weight, hours))
    total_weight = sum(weight for _, weight, _ in days)
    expected = [size * weight / total_weight for _, weight, _ in days]
    counts = [math.floor(e) for e in expected]
    # Largest remainders take the rows rounding left over, so the total is exactly size.
    by_remainder = sorted(range(len(days)), key=lambda i: (counts[i] - expected[i], i))
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    return [(start, count, hours) for (start, _, hours), count in zip(days, counts, strict=True)]
