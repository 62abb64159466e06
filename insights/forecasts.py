"""Forecasts of the weekly metrics, overall, per product and per theme, saved with their
backtest. Reads the rollups through selectors; the modelling is in analysis.forecasting."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import selectors
from .analysis import forecasting
from .models import Forecast

MAX_PRODUCTS = 10
MAX_THEMES = 10
BACKTEST_HORIZON = 4
BACKTEST_ORIGINS = 6
# Fewer weeks of data than this and a forecast says nothing useful: none is stored.
MIN_HISTORY_WEEKS = 4
# A week's average sentiment or NPS over fewer items than this is noise (one review makes
# the week −1 or +1, one answer makes NPS ±100): the week counts as a gap, interpolated.
MIN_WEEKLY_SAMPLE = 3
# A series whose last value is more weeks old than this is stale: no forecast from it.
MAX_TRAILING_GAP = 4

BOUNDS = {
    Forecast.Metric.VOLUME: (0.0, None),
    Forecast.Metric.SENTIMENT: (-1.0, 1.0),
    Forecast.Metric.NPS: (-100.0, 100.0),
}


# The theme rollups keep the survey scores of the responses whose text answers carry the
# theme beside its feedback counters, so themes get the NPS forecast too.
THEME_METRICS = [Forecast.Metric.VOLUME, Forecast.Metric.SENTIMENT, Forecast.Metric.NPS]


def weekly_value(metric: str, sums: dict) -> float | None:
    """The week's value of ``metric`` from its rollup sums; ``None`` (a gap) when the week
    has fewer than ``MIN_WEEKLY_SAMPLE`` analysed items or NPS answers."""
    if metric == Forecast.Metric.VOLUME:
        return float(sums["feedback_count"])
    if metric == Forecast.Metric.SENTIMENT:
        analysed = sums["analysed_count"]
        return sums["sentiment_sum"] / analysed if analysed >= MIN_WEEKLY_SAMPLE else None
    answered = sums["nps_promoters"] + sums["nps_passives"] + sums["nps_detractors"]
    if answered < MIN_WEEKLY_SAMPLE:
        return None
    return 100 * (sums["nps_promoters"] - sums["nps_detractors"]) / answered


def _trim_leading(weeks: list[dt.date], values: list[float | None], metric: str):
    """Drop the weeks before the metric's first data (zero volume before launch is not data)."""
    for index, value in enumerate(values):
        if value is not None and (metric != Forecast.Metric.VOLUME or value > 0):
            return weeks[index:], values[index:]
    return [], []


def _trailing_gap(values: list[float | None]) -> int:
    """How many of the last weeks have no value."""
    gap = 0
    for value in reversed(values):
        if value is not None:
            break
        gap += 1
    return gap


def save_forecast(
    *,
    metric: str,
    scope: str,
    weeks: list[dt.date],
    values: list[float | None],
    horizon: int,
    product_id: int | None = None,
    theme_id: int | None = None,
    now: dt.datetime | None = None,
) -> Forecast | None:
    """Forecast one weekly series (``weeks`` ending with the last complete week) and store
    it, replacing the previous one of that scope. Returns ``None`` and removes a stale
    forecast when there is too little history or the last value is older than
    ``MAX_TRAILING_GAP`` weeks.

    Trailing gaps (recent weeks without a value) are forecast over, so the stored points
    always start the week after ``weeks[-1]``."""
    scope_key = Forecast.key_for(
        product_id=product_id if scope == Forecast.Scope.PRODUCT else None,
        theme_id=theme_id if scope == Forecast.Scope.THEME else None,
    )
    weeks, values = _trim_leading(weeks, values, metric)
    gap = _trailing_gap(values)
    if sum(v is not None for v in values) < MIN_HISTORY_WEEKS or gap > MAX_TRAILING_GAP:
        Forecast.objects.filter(metric=metric, scope_key=scope_key).delete()
        return None
    result = forecasting.forecast(
        values, horizon=horizon + gap, season=forecasting.DEFAULT_SEASON, bounds=BOUNDS[metric]
    )
    check = forecasting.backtest(
        values,
        horizon=min(BACKTEST_HORIZON, horizon),
        season=forecasting.DEFAULT_SEASON,
        max_origins=BACKTEST_ORIGINS,
        bounds=BOUNDS[metric],
    )
    last_week = weeks[-1]
    points = [
        {
            **point,
            "step": point["step"] - gap,
            "week": (last_week + dt.timedelta(weeks=point["step"] - gap)).isoformat(),
        }
        for point in result.points[gap:]
    ]
    history = [
        {"week": week.isoformat(), "value": None if value is None else round(value, 4)}
        for week, value in zip(weeks[-26:], values[-26:], strict=True)
    ]
    forecast, _ = Forecast.objects.update_or_create(
        metric=metric,
        scope_key=scope_key,
        defaults={
            "scope": scope,
            "product_id": product_id,
            "theme_id": theme_id,
            "generated_at": now or timezone.now(),
            "history_end": last_week,
            "horizon": horizon,
            "method": result.method,
            "history_weeks": result.history,
            "interval": result.interval,
            "points": points,
            "history": history,
            "backtest": check.as_dict() if check else {},
        },
    )
    return forecast


def refresh_forecasts(*, today: dt.date | None = None, run=None) -> int:
    """Re-forecast volume, sentiment and NPS overall, for the busiest products and for the
    busiest themes; remove every other forecast. Returns how many forecasts were stored."""
    horizon = settings.INSIGHTS_FORECAST_HORIZON
    history_weeks = settings.INSIGHTS_FORECAST_HISTORY_WEEKS
    today = today or timezone.now().astimezone(dt.UTC).date()
    since = today - dt.timedelta(weeks=history_weeks)
    product_ids = selectors.active_product_ids(since=since, limit=MAX_PRODUCTS)
    this_monday = today - dt.timedelta(days=today.weekday())
    busiest_themes = selectors.active_theme_ids(
        since=this_monday - dt.timedelta(weeks=history_weeks), limit=MAX_THEMES
    )
    series = [(Forecast.Scope.OVERALL, None, None)]
    series += [(Forecast.Scope.PRODUCT, pk, None) for pk in product_ids]
    series += [(Forecast.Scope.THEME, None, pk) for pk in busiest_themes]
    stored = 0
    kept: set[tuple[str, str]] = set()
    for step, (scope, product_id, theme_id) in enumerate(series, start=1):
        totals = selectors.weekly_rollup_totals(
            weeks=history_weeks, today=today, product_id=product_id, theme_id=theme_id
        )
        metrics = THEME_METRICS if scope == Forecast.Scope.THEME else Forecast.Metric.values
        weeks = [week for week, _ in totals]
        for metric in metrics:
            values = [weekly_value(metric, sums) for _, sums in totals]
            forecast = save_forecast(
                metric=metric, scope=scope, weeks=weeks, values=values, horizon=horizon,
                product_id=product_id, theme_id=theme_id,
            )  # fmt: skip
            if forecast:
                stored += 1
                kept.add((metric, forecast.scope_key))
        if run:
            run.progress(step, len(series))
    # Products and themes that fell out of the busiest lists keep no stale forecast.
    with transaction.atomic():
        for forecast in Forecast.objects.only("pk", "metric", "scope_key"):
            if (forecast.metric, forecast.scope_key) not in kept:
                forecast.delete()
    if run:
        run.add_rows(stored)
    return stored
