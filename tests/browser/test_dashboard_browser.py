"""The insights dashboard in headless Chromium: a manager filters it, clicks a bar of the
channel chart to the inbox and finds the same count, then downloads a table as CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.services import record_feedback
from feedback.tests.factories import UserFactory
from insights import services

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_manager_filters_clicks_a_bar_to_the_inbox_and_downloads_csv(page):
    UserFactory(username="maria", role="manager")
    now = timezone.now()
    for days_ago in range(7):  # today and the six days before: the "last 7 days"
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
    expect(volume_tile.locator("p.value")).to_have_text("7")

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
    expect(page.locator("h1 .count")).to_have_text("7 feedback")

    page.go_back()
    with page.expect_download() as download_info:
        page.locator("#channel-table").locator("xpath=following-sibling::p[1]").get_by_role(
            "link", name="Download CSV"
        ).click()
    download = download_info.value
    assert download.suggested_filename == "focusloop-channels.csv"
    content = open(download.path(), encoding="utf-8-sig").read()
    assert content.splitlines()[1].startswith("Online review,7,")
    page.problems.assert_none()
