"""Forecasts and their rolling-origin backtest on synthetic weekly series."""

import numpy as np
import pytest

from insights.analysis import forecasting


def seasonal_series(weeks=78, season=13, seed=7):
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    return list(200 + 1.5 * t + 40 * np.sin(2 * np.pi * t / season) + rng.normal(0, 4, weeks))


def test_seasonal_model_is_chosen_with_two_seasons_and_intervals_bracket_the_forecast():
    result = forecasting.forecast(seasonal_series(), horizon=8, season=13)

    assert result.method == "ets-damped-seasonal"
    assert len(result.points) == 8
    for point in result.points:
        assert point["lower"] <= point["value"] <= point["upper"]
    widths = [p["upper"] - p["lower"] for p in result.points]
    assert widths[-1] >= widths[0]


def test_forecast_follows_the_season():
    series = seasonal_series()
    result = forecasting.forecast(series, horizon=13, season=13)
    values = [p["value"] for p in result.points]
    # The series starts a new season at week 78: the sine peaks at 13/4 and bottoms at 39/4.
    assert int(np.argmax(values)) == 3
    assert int(np.argmin(values)) in (9, 10)


def test_backtest_beats_seasonal_naive_on_a_trending_seasonal_series():
    result = forecasting.backtest(seasonal_series(), horizon=4, season=13)

    assert result.origins == 8
    assert result.model_mape < result.naive_mape
    assert result.model_beats_naive is True
    assert result.as_dict()["model_beats_naive"] is True


def test_backtest_mean_absolute_errors_by_hand():
    series = seasonal_series(weeks=40)
    result = forecasting.backtest(series, horizon=4, season=13, max_origins=3)

    # Origins 34, 35, 36: the last three from which four weeks can be checked (40 − 4).
    y = np.array(series)
    model_errors, naive_errors = [], []
    for origin in (34, 35, 36):
        actual = y[origin : origin + 4]
        model = forecasting.forecast(y[:origin], horizon=4, season=13)
        model_errors += [abs(a - p["value"]) for a, p in zip(actual, model.points, strict=True)]
        naive_errors += list(abs(actual - forecasting.seasonal_naive(y[:origin], 4, 13)))
    assert result.origins == 3
    assert result.model_mae == pytest.approx(np.mean(model_errors), abs=1e-6)
    assert result.naive_mae == pytest.approx(np.mean(naive_errors), abs=1e-6)
    assert forecasting.mae([1, -1, 0], [0.5, -1, 0.4]) == pytest.approx(0.3)


def test_verdict_on_a_series_around_zero_goes_by_absolute_error_not_smape():
    # Average sentiment hovering around zero: noise the model averages out while the naive
    # forecast repeats the last week. Percentage errors explode near zero and sMAPE
    # punishes any forecast close to zero, so it would call the model worse.
    rng = np.random.default_rng(24)
    series = list(0.05 * np.sin(np.arange(30) / 2) + rng.normal(0, 0.1, 30))
    result = forecasting.backtest(series, horizon=4, season=52)

    assert result.model_smape > result.naive_smape
    assert result.model_mae < result.naive_mae
    assert result.model_beats_naive is True


@pytest.mark.parametrize(
    ("history", "method"),
    [(0, "none"), (1, "naive"), (3, "naive"), (6, "ets-level"), (20, "ets-damped")],
)
def test_short_series_fall_back_to_simpler_models(history, method):
    values = [10 + (i % 3) for i in range(history)]
    result = forecasting.forecast(values, horizon=4, season=52)
    assert result.method == method
    assert len(result.points) == (0 if history == 0 else 4)


def test_bounds_clip_volume_at_zero():
    result = forecasting.forecast([5, 3, 1, 0, 0, 1, 0, 0], horizon=6, bounds=(0, None))
    assert all(p["lower"] >= 0 and p["value"] >= 0 for p in result.points)


def test_interior_gaps_are_interpolated():
    assert list(forecasting.clean_series([None, 1, None, 3, None])) == [1.0, 2.0, 3.0]


def test_backtest_needs_enough_history():
    assert forecasting.backtest([1, 2, 3, 4, 5], horizon=4) is None


def test_error_measures_by_hand():
    assert forecasting.mape([100, 200], [110, 180]) == pytest.approx(10.0)
    # zeros: MAPE skips them, sMAPE scores them (0 vs 0 counts as a perfect point)
    assert forecasting.mape([0, 0], [1, 0]) is None
    assert forecasting.smape([0, 0, 100], [1, 0, 100]) == pytest.approx(200 / 3)
    series = np.array([1, 2, 3, 4, 5, 6], dtype=float)
    assert list(forecasting.seasonal_naive(series, 4, 3)) == [4, 5, 6, 4]


def test_backtest_clips_the_model_like_the_stored_forecast():
    # A volume falling to zero: the damped trend runs below zero unless clipped at 0.
    series = [60, 55, 50, 44, 38, 33, 27, 22, 16, 11, 6, 2, 0, 0, 0, 0, 0, 0]
    unclipped = forecasting.backtest(series, horizon=4, season=52)
    clipped = forecasting.backtest(series, horizon=4, season=52, bounds=(0, None))

    assert unclipped.model_beats_naive is False
    assert clipped.model_mae == 0 and clipped.model_beats_naive is True


def test_backtest_counts_the_origins_whose_naive_forecast_is_seasonal():
    # Season 13, 30 weeks, horizon 4: origins 19…26 (the last 8); all have 13 weeks behind.
    result = forecasting.backtest(seasonal_series(30), horizon=4, season=13, min_train=12)
    assert (result.origins, result.as_dict()["naive_seasonal_origins"]) == (8, 8)
    # Season 52: none of them has; the naive forecast there is the last value.
    result = forecasting.backtest(seasonal_series(30), horizon=4, season=52)
    assert (result.origins, result.naive_seasonal_origins) == (8, 0)
