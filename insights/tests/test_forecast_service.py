"""Forecasts computed from the rollups and stored with their backtest; the forecasts page."""

import datetime as dt
import math

import pytest
from django.urls import reverse

from feedback.tests.factories import ProductFactory
from insights.forecasts import refresh_forecasts
from insights.models import AnalysisRun, DailyFeedbackStat, Forecast
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
    assert "Feedback volume" in page and "seasonal naive" in page
