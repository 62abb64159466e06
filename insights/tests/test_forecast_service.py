"""Forecasts computed from the rollups and stored with their backtest; the forecasts page."""

import datetime as dt
import math

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.tests.factories import ProductFactory
from insights import forecasts
from insights.analysis import forecasting
from insights.forecasts import refresh_forecasts
from insights.models import AnalysisRun, DailyFeedbackStat, DailyThemeStat, Forecast, Theme
from insights.runs import tracked_run

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 17)  # a Wednesday
LAST_MONDAY = dt.date(2026, 6, 8)  # the last complete week


def seed_weeks(weeks: int, *, product=None, nps: bool = True):
    for n in range(weeks):
        day = LAST_MONDAY - dt.timedelta(weeks=weeks - 1 - n)
        volume = int(100 + 2 * n + 15 * math.sin(n / 2))
        DailyFeedbackStat.objects.create(
            day=day, channel="form", product=product, customer_kind="external",
            feedback_count=volume, analysed_count=volume, sentiment_sum=0.2 * volume,
            nps_promoters=30 if nps else 0, nps_passives=10 if nps else 0,
            nps_detractors=10 if nps else 0,
        )  # fmt: skip
    # The current, partial week is left out of the history.
    DailyFeedbackStat.objects.create(
        day=TODAY, channel="form", product=product, customer_kind="external", feedback_count=5000
    )


def test_forecasts_are_stored_per_metric_and_scope_with_backtests(settings):
    settings.INSIGHTS_FORECAST_HORIZON = 6
    app = ProductFactory(name="App", slug="app")
    seed_weeks(30)
    seed_weeks(3, product=app, nps=False)

    with tracked_run("forecast") as run:
        stored = refresh_forecasts(today=TODAY, run=run)

    assert stored == 3  # overall volume, sentiment, NPS; the product has only 3 weeks
    volume = Forecast.objects.get(metric="volume", scope_key="overall")
    assert volume.history_end == LAST_MONDAY and volume.horizon == 6
    assert [p["week"] for p in volume.points][:2] == ["2026-06-15", "2026-06-22"]
    assert volume.method == "ets-damped" and volume.history_weeks == 30
    assert all(p["lower"] <= p["value"] <= p["upper"] for p in volume.points)
    assert max(p["value"] for p in volume.points) < 1000  # the partial week is not history
    assert volume.backtest["origins"] == 6 and volume.backtest["model_smape"] is not None
    nps = Forecast.objects.get(metric="nps", scope_key="overall")
    assert nps.points[0]["value"] == pytest.approx(40, abs=1)
    assert AnalysisRun.objects.get().rows == 3


def test_a_scope_with_too_little_history_loses_its_stale_forecast():
    seed_weeks(30)
    refresh_forecasts(today=TODAY)
    DailyFeedbackStat.objects.all().delete()
    seed_weeks(2)
    assert refresh_forecasts(today=TODAY) == 0
    assert not Forecast.objects.exists()


def test_forecast_page_per_role(client, outsider, staff_member, manager):
    seed_weeks(30)
    refresh_forecasts(today=TODAY)
    url = reverse("insights:forecasts")
    assert client.get(url).status_code == 302
    client.force_login(staff_member)
    assert client.get(url).status_code == 403
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert "Feedback volume" in page and "model vs the naive forecast" in page


# --- Per-theme forecasts ------------------------------------------------------------------


def seed_theme_weeks(theme, weeks: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Theme rollup rows for the complete weeks ending ``LAST_MONDAY``, oldest first, from
    ``(feedback, analysed, sentiment_sum)`` per week, each week split over two days and two
    channels; returns the week totals as written."""
    for n, (volume, analysed, sentiment_sum) in enumerate(weeks):
        monday = LAST_MONDAY - dt.timedelta(weeks=len(weeks) - 1 - n)
        first_analysed = analysed // 2
        share = first_analysed / analysed if analysed else 0.5
        for day, channel, part_volume, part_analysed, part_sum in (
            (monday, "form", volume // 2, first_analysed, sentiment_sum * share),
            (
                monday + dt.timedelta(days=3),
                "email",
                volume - volume // 2,
                analysed - first_analysed,
                sentiment_sum * (1 - share),
            ),
        ):
            DailyThemeStat.objects.create(
                theme=theme, day=day, channel=channel, customer_kind="external",
                feedback_count=part_volume, analysed_count=part_analysed,
                sentiment_sum=part_sum,
            )  # fmt: skip
    return weeks


def theme_week(n: int) -> tuple[int, int, float]:
    analysed = 8 + n % 5
    return analysed + 2, analysed, analysed * (0.3 * math.sin(n / 3) - 0.1)


def test_theme_sentiment_forecast_is_the_weekly_mean_of_the_theme_rollup(settings):
    settings.INSIGHTS_FORECAST_HORIZON = 5
    checkout = Theme.objects.create(name="Checkout", slug="checkout")
    weeks = [(6, 0, 0.0), (4, 0, 0.0)]  # feedback before any of it was analysed
    weeks += [theme_week(n) for n in range(18)]
    weeks[9] = (3, 2, 1.6)  # two analysed items: a gap, not a mean of +0.8
    weeks[13] = (0, 0, 0.0)  # a quiet week
    seed_theme_weeks(checkout, weeks)
    # The current, partial week is left out of the history.
    DailyThemeStat.objects.create(
        theme=checkout, day=TODAY, channel="form", customer_kind="external",
        feedback_count=900, analysed_count=900, sentiment_sum=-900.0,
    )  # fmt: skip

    refresh_forecasts(today=TODAY)

    # By hand: the week's sentiment sum over its analysed count, from the first analysed
    # week on; a week with fewer than three analysed items has no value.
    expected = [s / a if a >= 3 else None for _, a, s in weeks[2:]]
    assert expected[7] is None and expected[11] is None and len(expected) == 18
    sentiment = Forecast.objects.get(metric="sentiment", scope_key=f"theme:{checkout.pk}")
    assert sentiment.scope == "theme" and sentiment.theme == checkout
    assert sentiment.history_end == LAST_MONDAY and sentiment.horizon == 5
    assert [h["value"] for h in sentiment.history] == [
        None if v is None else round(v, 4) for v in expected
    ]
    assert sentiment.history[0]["week"] == (LAST_MONDAY - dt.timedelta(weeks=17)).isoformat()
    assert sentiment.history_weeks == 18 and sentiment.method == "ets-damped"
    model = forecasting.forecast(expected, horizon=5, bounds=(-1.0, 1.0))
    assert [p["value"] for p in sentiment.points] == [p["value"] for p in model.points]
    assert [p["week"] for p in sentiment.points] == [
        (LAST_MONDAY + dt.timedelta(weeks=k)).isoformat() for k in range(1, 6)
    ]
    assert all(-1 <= p["lower"] <= p["value"] <= p["upper"] <= 1 for p in sentiment.points)
    # 18 weeks, 4 ahead: origins 12…14, the last ones from which 4 weeks can be checked.
    assert sentiment.backtest["origins"] == 3 and sentiment.backtest["horizon"] == 4
    assert sentiment.backtest["model_mape"] is not None
    assert sentiment.backtest["naive_mape"] is not None
    assert sentiment.backtest["model_mae"] < 1 and sentiment.backtest["naive_mae"] < 1
    volume = Forecast.objects.get(metric="volume", scope_key=f"theme:{checkout.pk}")
    assert [h["value"] for h in volume.history] == [float(v) for v, _, _ in weeks]
    assert not Forecast.objects.filter(metric="nps", scope="theme").exists()


def test_a_theme_without_recent_sentiment_is_forecast_from_its_last_known_week(settings):
    settings.INSIGHTS_FORECAST_HORIZON = 4
    billing = Theme.objects.create(name="Billing", slug="billing")
    weeks = [theme_week(n) for n in range(10)] + [(2, 1, 0.5), (1, 0, 0.0)]
    seed_theme_weeks(billing, weeks)

    refresh_forecasts(today=TODAY)

    known = [s / a for _, a, s in weeks[:10]]
    sentiment = Forecast.objects.get(metric="sentiment", scope_key=f"theme:{billing.pk}")
    # Forecast over the two silent weeks; the stored points are the four weeks ahead.
    model = forecasting.forecast(known, horizon=6, bounds=(-1.0, 1.0))
    assert [p["value"] for p in sentiment.points] == [p["value"] for p in model.points[2:]]
    assert [p["step"] for p in sentiment.points] == [1, 2, 3, 4]
    assert sentiment.points[0]["week"] == "2026-06-15"

    # Five silent weeks: the sentiment is stale, its forecast goes; the volume stays.
    DailyThemeStat.objects.all().delete()
    seed_theme_weeks(billing, [theme_week(n) for n in range(10)] + [(1, 0, 0.0)] * 5)
    refresh_forecasts(today=TODAY)
    assert not Forecast.objects.filter(metric="sentiment").exists()
    assert Forecast.objects.filter(metric="volume", scope_key=f"theme:{billing.pk}").exists()


def test_a_theme_that_falls_out_of_the_busiest_loses_its_forecasts(monkeypatch):
    monkeypatch.setattr(forecasts, "MAX_THEMES", 1)
    busy = Theme.objects.create(name="Busy", slug="busy")
    quiet = Theme.objects.create(name="Quiet", slug="quiet")
    seed_theme_weeks(busy, [theme_week(n) for n in range(8)])
    seed_theme_weeks(quiet, [(5, 4, 1.0)] * 8)

    assert refresh_forecasts(today=TODAY) == 2
    assert set(Forecast.objects.values_list("metric", "scope_key")) == {
        ("volume", f"theme:{busy.pk}"),
        ("sentiment", f"theme:{busy.pk}"),
    }

    DailyThemeStat.objects.create(
        theme=quiet, day=LAST_MONDAY, channel="api", customer_kind="external",
        feedback_count=500, analysed_count=500, sentiment_sum=100.0,
    )  # fmt: skip
    assert refresh_forecasts(today=TODAY) == 2
    assert set(Forecast.objects.values_list("metric", "scope_key")) == {
        ("volume", f"theme:{quiet.pk}"),
        ("sentiment", f"theme:{quiet.pk}"),
    }


def test_theme_nps_forecast_reads_the_theme_rollups_scores_with_small_weeks_as_gaps(settings):
    settings.INSIGHTS_FORECAST_HORIZON = 4
    onboarding = Theme.objects.create(name="Onboarding", slug="onboarding")
    app = ProductFactory(name="App", slug="app")
    seed_theme_weeks(onboarding, [theme_week(n) for n in range(18)])
    answers = [(6 + n % 3, 2 + n % 2, 1 + n % 4) for n in range(18)]
    answers[5] = (1, 1, 0)  # two NPS answers: a gap, not +50
    for n, (promoters, passives, detractors) in enumerate(answers):
        monday = LAST_MONDAY - dt.timedelta(weeks=17 - n)
        # Two rows of one week (another day, another product): the week sums them.
        DailyThemeStat.objects.create(
            theme=onboarding, day=monday, channel="survey", customer_kind="external",
            nps_promoters=promoters, nps_detractors=detractors,
        )  # fmt: skip
        DailyThemeStat.objects.create(
            theme=onboarding, day=monday + dt.timedelta(days=2), channel="survey",
            product=app, customer_kind="external", nps_passives=passives,
        )  # fmt: skip

    refresh_forecasts(today=TODAY)

    # By hand: 100 × (promoters − detractors) / answers, no value under three answers.
    expected = [100 * (p - d) / (p + n + d) if p + n + d >= 3 else None for p, n, d in answers]
    assert expected[5] is None and expected[0] == pytest.approx(100 * 5 / 9)
    forecast = Forecast.objects.get(metric="nps", scope_key=f"theme:{onboarding.pk}")
    assert forecast.scope == "theme" and forecast.theme == onboarding
    assert forecast.history_end == LAST_MONDAY and forecast.horizon == 4
    assert [h["value"] for h in forecast.history] == [
        None if v is None else round(v, 4) for v in expected
    ]
    model = forecasting.forecast(expected, horizon=4, bounds=(-100.0, 100.0))
    assert [p["value"] for p in forecast.points] == [p["value"] for p in model.points]
    assert all(-100 <= p["lower"] <= p["value"] <= p["upper"] <= 100 for p in forecast.points)
    assert forecast.backtest["origins"] == 3 and forecast.backtest["model_mae"] is not None


def test_weeks_with_too_few_items_have_no_sentiment_or_nps():
    sums = {"feedback_count": 2, "analysed_count": 2, "sentiment_sum": 1.8}
    sums |= {"nps_promoters": 2, "nps_passives": 0, "nps_detractors": 0}
    assert forecasts.weekly_value("volume", sums) == 2.0
    assert forecasts.weekly_value("sentiment", sums) is None
    assert forecasts.weekly_value("nps", sums) is None
    sums |= {"analysed_count": 3, "nps_detractors": 1}
    assert forecasts.weekly_value("sentiment", sums) == pytest.approx(0.6)
    assert forecasts.weekly_value("nps", sums) == pytest.approx(100 / 3)


def test_theme_sentiment_forecasts_are_on_the_page_and_in_the_api(
    client, manager, django_assert_max_num_queries
):
    checkout = Theme.objects.create(name="Checkout", slug="checkout")
    billing = Theme.objects.create(name="Billing", slug="billing")
    seed_theme_weeks(checkout, [theme_week(n) for n in range(8)])
    seed_theme_weeks(billing, [theme_week(n) for n in range(6)])
    refresh_forecasts(today=TODAY)
    assert Forecast.objects.count() == 4

    client.force_login(manager)
    with django_assert_max_num_queries(6):  # the forecasts in one query, whatever their number
        page = client.get(reverse("insights:forecasts")).content.decode()
    assert "Average sentiment · theme “Checkout”" in page
    assert "Average sentiment · theme “Billing”" in page

    api = APIClient()
    api.force_authenticate(manager)
    rows = api.get("/api/v1/forecasts/", {"scope": "theme", "metric": "sentiment"}).json()
    assert sorted((row["theme"], len(row["points"])) for row in rows["results"]) == [
        ("billing", 8),
        ("checkout", 8),
    ]


def test_the_forecast_api_filters_by_theme_and_product_slug(manager):
    app = ProductFactory(name="App", slug="app")
    seed_weeks(8, product=app)
    checkout = Theme.objects.create(name="Checkout", slug="checkout")
    seed_theme_weeks(checkout, [theme_week(n) for n in range(8)])
    refresh_forecasts(today=TODAY)
    api = APIClient()
    api.force_authenticate(manager)

    def listed(query):
        rows = api.get("/api/v1/forecasts/", query).json()["results"]
        return sorted((row["metric"], row["scope"]) for row in rows)

    assert listed({"theme": "checkout"}) == [("sentiment", "theme"), ("volume", "theme")]
    assert listed({"product": "app", "metric": "nps"}) == [("nps", "product")]
    response = api.get("/api/v1/forecasts/", {"theme": "no-such-theme"})
    assert response.status_code == 400 and "theme" in response.json()["errors"]
