"""The forecasts page: one chart per series chosen by metric and scope, the backtest beside
it, the numbers in tables kept for screen readers and for anyone without JavaScript."""

import json
import re

import pytest
from django.urls import reverse

from feedback.tests.factories import ProductFactory
from insights.forecasts import refresh_forecasts
from insights.models import Forecast

from .test_forecast_service import TODAY, seed_weeks

pytestmark = pytest.mark.django_db


def chart_data(page: str) -> list[dict]:
    match = re.search(r'<script id="forecast-data" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


def test_each_series_gets_history_forecast_and_band_for_the_chart(client, manager):
    app = ProductFactory(name="App", slug="app")
    seed_weeks(30)
    seed_weeks(8, product=app)
    refresh_forecasts(today=TODAY)
    client.force_login(manager)

    page = client.get(reverse("insights:forecasts")).content.decode()

    data = {item["key"]: item for item in chart_data(page)}
    assert set(data) == {
        f"{metric}:{key}" for metric, key in Forecast.objects.values_list("metric", "scope_key")
    }
    volume = data["volume:overall"]
    assert (volume["metric"], volume["scope"], volume["label"]) == ("volume", "overall", "Overall")
    assert len(volume["history"]) == 26 and len(volume["forecast"]) == 8
    assert all(point["lower"] <= point["value"] <= point["upper"] for point in volume["forecast"])
    app_key = f"nps:{Forecast.objects.get(metric='nps', product=app).scope_key}"
    assert (data[app_key]["scope"], data[app_key]["label"]) == ("product", "App")
    assert '<canvas id="forecast-chart"' in page and 'id="forecast-picker"' in page
    assert "js/insights_forecasts.js" in page
    # CSP: no inline code, only the JSON data block.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' id="forecast-data" type="application/json"']


def test_volumes_are_whole_numbers_in_chart_and_tables(client, manager):
    seed_weeks(30)
    refresh_forecasts(today=TODAY)
    client.force_login(manager)

    page = client.get(reverse("insights:forecasts")).content.decode()

    volume = {item["key"]: item for item in chart_data(page)}["volume:overall"]
    values = [p["value"] for p in volume["history"]] + [
        p[field] for p in volume["forecast"] for field in ("value", "lower", "upper")
    ]
    assert all(value == int(value) for value in values)
    forecast = Forecast.objects.get(metric="volume", scope_key="overall")
    first = forecast.points[0]
    assert f'<td class="num">{round(first["value"])}</td>' in page
    assert f"{first['value']:.2f}" not in page


def test_the_tables_and_backtests_stay_on_the_page_in_details(client, manager):
    seed_weeks(30)
    refresh_forecasts(today=TODAY)
    client.force_login(manager)

    page = client.get(reverse("insights:forecasts")).content.decode()

    assert page.count("<details>") == Forecast.objects.count() == 3
    assert "Feedback volume · overall" in page and "NPS · overall" in page
    assert "MAPE" in page and "model vs the naive forecast" in page


def test_without_forecasts_the_page_says_when_they_come(client, manager):
    client.force_login(manager)
    page = client.get(reverse("insights:forecasts")).content.decode()
    assert "No forecast yet" in page and "forecast-chart" not in page


def test_a_backtest_under_a_year_of_history_says_its_naive_forecast_is_the_last_value(
    client, manager
):
    """With 30 weeks of data no backtest origin has a season (52 weeks) behind it, so the
    comparison is with the last value, and the page says so."""
    seed_weeks(30)
    refresh_forecasts(today=TODAY)
    client.force_login(manager)

    backtest = Forecast.objects.get(metric="volume", scope_key="overall").backtest
    assert backtest["origins"] > 0 and backtest["naive_seasonal_origins"] == 0
    page = client.get(reverse("insights:forecasts")).content.decode()
    assert "model vs the naive forecast (the last value" in page
    assert "model vs seasonal naive:" not in page
