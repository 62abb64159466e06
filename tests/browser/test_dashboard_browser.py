"""The insights dashboard in headless Chromium: a manager filters it, clicks a bar of the
channel chart to the inbox and finds the same count, then downloads a table as CSV; the
overview and a theme page draw their charts, and screenshots of both are saved as test
artifacts under ``FOCUSLOOP_TEST_ARTIFACTS`` (default ``var/test-artifacts/``, git-ignored)
for people to look at."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.services import record_feedback
from feedback.tests.factories import UserFactory
from insights import services
from insights.models import FeedbackTheme, Forecast, Theme
from insights.theme_services import refresh_daily_theme_stats

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go: ``FOCUSLOOP_TEST_ARTIFACTS`` or ``var/test-artifacts/``."""
    folder = Path(os.environ.get("FOCUSLOOP_TEST_ARTIFACTS") or REPO / "var" / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_manager_filters_clicks_a_bar_to_the_inbox_and_downloads_csv(page):
    UserFactory(username="maria", role="manager")
    now = timezone.now()
    # Six full days before today: inside the "last 7 days" of the charts and of the
    # volume tile alike (the tile counts full days, ending yesterday).
    for days_ago in range(1, 7):
        record_feedback(
            channel="review",
            text="Bad, very bad, awful",
            received_at=now - dt.timedelta(days=days_ago),
        )
    for days_ago in range(1, 6):
        record_feedback(
            channel="email", text="Good, lovely", received_at=now - dt.timedelta(days=days_ago)
        )
    services.analyse_all_pending()
    log_in(page, "maria")

    page.goto("/insights/")
    page.get_by_label("Period:", exact=True).select_option("7")
    page.get_by_label("Channel:", exact=True).select_option("review")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    assert "channel=review" in page.url and "days=7" in page.url
    volume_tile = page.locator(
        "article.tile", has=page.get_by_role("heading", name="Feedback volume")
    )
    expect(volume_tile.locator("p.value")).to_have_text("6")

    canvas = page.locator("#channel-chart")
    expect(canvas).to_have_attribute("data-drawn", "1")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = page.evaluate(
        """() => {
            const bar = Chart.getChart("channel-chart").getDatasetMeta(0).data[0];
            return [bar.x, (bar.y + bar.base) / 2];
        }"""
    )
    with page.expect_navigation():
        page.mouse.click(box["x"] + x, box["y"] + y)
    assert "/inbox/" in page.url and "channel=review" in page.url
    expect(page.locator("h1 .count")).to_have_text("6 feedback")

    page.go_back()
    with page.expect_download() as download_info:
        page.locator("#channel-table").locator("xpath=following-sibling::p[1]").get_by_role(
            "link", name="Download CSV"
        ).click()
    download = download_info.value
    assert download.suggested_filename == "focusloop-channels.csv"
    content = open(download.path(), encoding="utf-8-sig").read()
    assert content.splitlines()[1].startswith("Online review,6,")
    page.problems.assert_none()


def test_overview_and_theme_page_draw_their_charts_and_are_saved_as_screenshots(page, artifacts):
    UserFactory(username="maria", role="manager")
    now = timezone.now()
    theme = Theme.objects.create(name="Checkout", slug="checkout")
    for days_ago in range(1, 60):
        item = record_feedback(
            channel=("form", "email", "review")[days_ago % 3],
            text="Checkout is slow, bad" if days_ago % 2 else "Checkout is quick, lovely",
            received_at=now - dt.timedelta(days=days_ago),
        )
        FeedbackTheme.objects.create(feedback=item, theme=theme, score=1.0, source="manual")
    services.analyse_all_pending()
    refresh_daily_theme_stats()
    log_in(page, "maria")

    page.goto("/insights/?days=90")
    drawn = {"series-chart": "52", "channel-chart": "3", "kind-chart": "1"}  # weeks, bars
    for chart, points in drawn.items():
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", points)
    overview_png = artifacts / "dashboard-overview.png"
    page.screenshot(path=str(overview_png), full_page=True)

    page.goto("/insights/themes/")
    with page.expect_navigation():
        page.get_by_role("link", name="Checkout", exact=True).click()
    assert page.url.endswith(f"/insights/themes/{theme.pk}/")
    canvas = page.locator("#p-chart")
    expect(canvas).to_have_attribute("data-drawn", "26")  # one point per trend week
    assert page.evaluate("() => Chart.getChart('p-chart').getDatasetMeta(0).data.length") == 26
    theme_png = artifacts / "dashboard-theme.png"
    page.screenshot(path=str(theme_png), full_page=True)

    for png in (overview_png, theme_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    page.problems.assert_none()


def test_the_volume_forecast_is_drawn_on_its_own_weeks(page):
    """The stored forecast starts with the current week, which the series already shows
    (so far): the chart puts the forecast on that week, not on a second one."""
    UserFactory(username="maria", role="manager")
    now = timezone.now()
    record_feedback(channel="form", text="Fine", received_at=now - dt.timedelta(days=1))
    today = now.astimezone(dt.UTC).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    weeks = [this_monday + dt.timedelta(weeks=n) for n in range(3)]
    Forecast.objects.create(
        metric="volume", scope="overall", scope_key="overall", generated_at=now,
        history_end=this_monday - dt.timedelta(weeks=1), horizon=3, method="test",
        points=[
            {"week": week.isoformat(), "value": 10.0 + n, "lower": 5.0, "upper": 20.0}
            for n, week in enumerate(weeks)
        ],
    )  # fmt: skip
    log_in(page, "maria")

    page.goto("/insights/")
    expect(page.locator("#series-chart")).to_have_attribute("data-drawn", "54")  # 52 + 2
    labels, forecast = page.evaluate(
        """() => {
            const chart = Chart.getChart("series-chart");
            const line = chart.data.datasets.find((d) => d.label === "Forecast volume");
            return [chart.data.labels, line.data];
        }"""
    )
    assert len(labels) == len(set(labels)) == 54
    assert labels[-3:] == [week.isoformat() for week in weeks]
    assert forecast[-3:] == [10.0, 11.0, 12.0]
    assert all(value is None for value in forecast[:-3])
    page.problems.assert_none()


def test_enter_on_the_series_chart_opens_its_table_at_the_first_link(page):
    UserFactory(username="maria", role="manager")
    record_feedback(channel="form", text="Fine", received_at=timezone.now() - dt.timedelta(days=2))
    services.analyse_all_pending()
    log_in(page, "maria")

    page.goto("/insights/")
    expect(page.locator("#series-chart")).to_have_attribute("data-drawn", "52")
    page.focus("#series-chart")
    page.keyboard.press("Enter")

    focused = page.locator("#series-table a[data-count]").first
    expect(focused).to_be_focused()
    expect(focused).to_have_text("1")
    page.problems.assert_none()
