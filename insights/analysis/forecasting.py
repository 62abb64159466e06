"""Weekly forecasts by exponential smoothing, and a rolling-origin backtest against a
seasonal-naive forecast.

The model is statsmodels' ETS (error/trend/season state-space exponential smoothing, the
model family behind Holt-Winters) with additive errors, so its prediction intervals are
analytic. Which one depends on how much history there is:

=====================================  ==========================================
weeks of history (n), season length m  model
=====================================  ==========================================
n ≥ 2m                                 additive damped trend + additive season
12 ≤ n < 2m                            additive damped trend (Holt, damped)
4 ≤ n < 12                             simple exponential smoothing (level only)
1 ≤ n < 4                              naive: the last value, interval from the spread
=====================================  ==========================================

If a fit fails (degenerate data) the next simpler model is tried, ending with naive. Weeks
without a value inside the series (``None``) are linearly interpolated; leading gaps are
dropped.

The backtest refits the same model selection at several forecast origins (rolling origin,
expanding window) and compares the errors with the seasonal-naive forecast (the value one
season earlier, or the last value when less than a season is known). MAPE skips actual
values of zero, sMAPE (``2|a − f| / (|a| + |f|)``) does not, so series with zeros still get
a score. Both percentages blow up on series that hover around zero (average sentiment,
NPS), so whether the model beats the naive forecast is decided on the mean absolute error
of the two over the same weeks (the ratio is MASE's, with the seasonal-naive forecast as
the scale), which is defined for any series.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

DEFAULT_SEASON = 52


@dataclass
class ForecastResult:
    method: str
    history: int
    # step (1 = next week), value, lower, upper
    points: list[dict] = field(default_factory=list)
    interval: float = 0.9

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BacktestResult:
    origins: int
    horizon: int
    model_mape: float | None
    naive_mape: float | None
    model_smape: float | None
    naive_smape: float | None
    model_mae: float | None = None
    naive_mae: float | None = None
    # Origins with a full season behind them, where the naive forecast is seasonal; at the
    # others it is the last value.
    naive_seasonal_origins: int | None = None

    @property
    def model_beats_naive(self) -> bool | None:
        """Lower mean absolute error than the seasonal-naive forecast on the same weeks."""
        model, naive = self.model_mae, self.naive_mae
        if model is None or naive is None:
            return None
        return model < naive

    def as_dict(self) -> dict:
        data = asdict(self)
        data["model_beats_naive"] = self.model_beats_naive
        return data


def clean_series(values) -> np.ndarray:
    """Floats with interior gaps interpolated and leading/trailing gaps dropped."""
    series = pd.Series([np.nan if v is None else float(v) for v in values], dtype=float)
    valid = series.first_valid_index()
    if valid is None:
        return np.array([], dtype=float)
    last = series.last_valid_index()
    series = series.loc[valid:last].interpolate(limit_area="inside")
    return series.to_numpy(dtype=float)


def _model_specs(n: int, season: int) -> list[str]:
    specs = []
    if season >= 2 and n >= 2 * season:
        specs.append("ets-damped-seasonal")
    if n >= 12:
        specs.append("ets-damped")
    if n >= 4:
        specs.append("ets-level")
    specs.append("naive")
    return specs


def _fit_ets(y: np.ndarray, spec: str, season: int, horizon: int, interval: float):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    kwargs = {"error": "add"}
    if spec in ("ets-damped-seasonal", "ets-damped"):
        kwargs.update(trend="add", damped_trend=True)
    if spec == "ets-damped-seasonal":
        kwargs.update(seasonal="add", seasonal_periods=season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ETSModel(pd.Series(y), **kwargs).fit(disp=False, maxiter=200)
        frame = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(
            alpha=1 - interval
        )
    values = frame["mean"].to_numpy(dtype=float)
    lower = frame["pi_lower"].to_numpy(dtype=float)
    upper = frame["pi_upper"].to_numpy(dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(lower))):
        raise ValueError("non-finite forecast")
    return values, lower, upper


def _naive(y: np.ndarray, horizon: int, interval: float):
    from scipy.stats import norm

    last = float(y[-1])
    values = np.full(horizon, last)
    if len(y) >= 2:
        # Random walk: the k-step error grows with √k.
        sd = float(np.std(np.diff(y), ddof=1)) if len(y) >= 3 else abs(float(y[-1] - y[-2]))
        z = float(norm.ppf(0.5 + interval / 2))
        half = z * sd * np.sqrt(np.arange(1, horizon + 1))
        return values, values - half, values + half
    return values, np.full(horizon, np.nan), np.full(horizon, np.nan)


def forecast(
    values,
    *,
    horizon: int = 8,
    season: int = DEFAULT_SEASON,
    interval: float = 0.9,
    bounds: tuple[float | None, float | None] = (None, None),
) -> ForecastResult:
    """Forecast ``horizon`` weeks after ``values`` (oldest first) with prediction intervals.

    ``bounds`` clips values and intervals to the metric's range (volume ≥ 0, NPS −100…100).
    """
    if not 1 <= horizon <= 52:
        raise ValueError("horizon must be between 1 and 52 weeks")
    y = clean_series(values)
    if len(y) == 0:
        return ForecastResult(method="none", history=0, interval=interval)
    for spec in _model_specs(len(y), season):
        try:
            if spec == "naive":
                result = _naive(y, horizon, interval)
            else:
                result = _fit_ets(y, spec, season, horizon, interval)
        except Exception:  # noqa: BLE001 — a model that cannot fit falls back to a simpler one
            continue
        break
    values_, lower, upper = result
    low_bound, high_bound = bounds
    points = []
    for step in range(horizon):
        point = {
            "step": step + 1,
            "value": _clip(values_[step], low_bound, high_bound),
            "lower": None if math.isnan(lower[step]) else _clip(lower[step], low_bound, high_bound),
            "upper": None if math.isnan(upper[step]) else _clip(upper[step], low_bound, high_bound),
        }
        points.append(point)
    return ForecastResult(method=spec, history=len(y), points=points, interval=interval)


def _clip(value: float, low: float | None, high: float | None) -> float:
    value = float(value)
    if low is not None:
        value = max(low, value)
    if high is not None:
        value = min(high, value)
    return round(value, 6)


def seasonal_naive(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The value one season before each target week; the last value with less history."""
    n = len(y)
    if season >= 2 and n >= season:
        return np.array([y[n - season + (k % season)] for k in range(horizon)], dtype=float)
    return np.full(horizon, float(y[-1]))


def mape(actual, predicted) -> float | None:
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    mask = actual != 0
    if not mask.any():
        return None
    return float(np.mean(np.abs(actual[mask] - predicted[mask]) / np.abs(actual[mask])) * 100)


def mae(actual, predicted) -> float | None:
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if actual.size == 0:
        return None
    return float(np.mean(np.abs(actual - predicted)))


def smape(actual, predicted) -> float | None:
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if actual.size == 0:
        return None
    denom = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted), denom, out=np.zeros_like(denom), where=denom != 0
    )
    return float(np.mean(ratio) * 100)


def backtest(
    values,
    *,
    horizon: int = 4,
    season: int = DEFAULT_SEASON,
    min_train: int | None = None,
    max_origins: int = 8,
    bounds: tuple[float | None, float | None] = (None, None),
) -> BacktestResult | None:
    """Rolling-origin evaluation; ``None`` when the series is too short for one origin.

    Origins are the last ``max_origins`` points from which a full ``horizon`` can be
    checked, never earlier than ``min_train`` weeks (default: 2 seasons, or 12 weeks when
    that leaves no origin). The model's forecasts are clipped to ``bounds`` as the stored
    ones are.
    """
    y = clean_series(values)
    n = len(y)
    if min_train is None:
        min_train = 2 * season if n - horizon >= 2 * season else 12
    last_origin = n - horizon
    if last_origin < max(min_train, 4):
        return None
    first_origin = max(min_train, last_origin - max_origins + 1)
    actual, model_pred, naive_pred = [], [], []
    origins = seasonal_origins = 0
    for origin in range(first_origin, last_origin + 1):
        train = y[:origin]
        result = forecast(train, horizon=horizon, season=season, bounds=bounds)
        actual.extend(y[origin : origin + horizon])
        model_pred.extend(p["value"] for p in result.points)
        naive_pred.extend(seasonal_naive(train, horizon, season))
        origins += 1
        seasonal_origins += season >= 2 and origin >= season
    return BacktestResult(
        origins=origins,
        horizon=horizon,
        model_mape=_round(mape(actual, model_pred)),
        naive_mape=_round(mape(actual, naive_pred)),
        model_smape=_round(smape(actual, model_pred)),
        naive_smape=_round(smape(actual, naive_pred)),
        model_mae=_round(mae(actual, model_pred), 6),
        naive_mae=_round(mae(actual, naive_pred), 6),
        naive_seasonal_origins=seasonal_origins,
    )


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
