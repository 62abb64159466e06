"""The forecasts page in headless Chromium: the chart draws a series' history, forecast and
prediction band, and choosing another metric or scope redraws it with that series."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.tests.factories import ProductFactory, UserFactory
from insights.forecasts import refresh_forecasts
from insights.models import Forecast
from insights.tests.test_forecast_service import TODAY, seed_weeks

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser

DRAWN_POINTS = """() => Chart.getChart("forecast-chart").data.datasets.map(
    (set) => set.data.filter((value) => value !== null).length
)"""


def test_forecast_chart_draws_history_forecast_and_band_and_redraws_on_a_new_choice(page):
    UserFactory(username="maria", role="manager")
    app = ProductFactory(name="App", slug="app")
    seed_weeks(30)
    seed_weeks(10, product=app)
    refresh_forecasts(today=TODAY)
    horizon = len(Forecast.objects.get(metric="volume", scope_key="overall").points)
    log_in(page, "maria")

    page.goto("/insights/forecasts/")

    canvas = page.locator("#forecast-chart")
    expect(canvas).to_have_attribute("data-series", "volume:overall")
    expect(canvas).to_have_attribute("data-drawn", str(26 + horizon))
    # History, band upper, band lower, forecast.
    assert page.evaluate(DRAWN_POINTS) == [26, horizon, horizon, horizon]
    expect(page.get_by_role("heading", name="Feedback volume · overall")).to_be_visible()
    expect(page.get_by_role("heading", name="NPS · overall")).to_be_hidden()

    page.get_by_label("Metric").select_option("nps")
    page.get_by_label("Scope").select_option("product")

    app_key = Forecast.objects.get(metric="nps", product=app).scope_key
    expect(canvas).to_have_attribute("data-series", f"nps:{app_key}")
    expect(canvas).to_have_attribute("data-drawn", str(10 + horizon))
    assert page.evaluate(DRAWN_POINTS) == [10, horizon, horizon, horizon]
    expect(page.get_by_label("Series", exact=True)).to_have_value(f"nps:{app_key}")
    expect(page.get_by_role("heading", name="NPS · App")).to_be_visible()
    expect(page.get_by_role("heading", name="Feedback volume · overall")).to_be_hidden()
    page.problems.assert_none()
