"""The main pages, driven in headless Chromium against the live server."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.models import Feedback
from feedback.services import record_feedback
from feedback.tests.factories import UserFactory
from insights.services import analyse_all_pending

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"  # what UserFactory gives every user
CHART_JS = "/static/vendor/chartjs/chart.umd.min.js"

POSITIVE = "Great service, I love the new dashboard and the friendly support team!"
NEGATIVE = "Terrible support, the app crashed twice and I lost my work. Very disappointed."
NEUTRAL = "I used the export on Tuesday."
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the page the role starts on."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def submit_public_form(page, text: str, rating: str | None = None):
    """Fill and send the public form; return the response of the page it lands on."""
    page.goto("/feedback/")
    expect(page.get_by_role("heading", name="Tell us what you think")).to_be_visible()
    page.get_by_label("Your feedback").fill(text)
    if rating is not None:
        page.get_by_label("How would you rate us overall?").select_option(rating)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Send feedback").click()
    return navigation.value


def test_customer_submits_public_form_and_sees_thank_you(page):
    text = "The checkout was quick, but the confirmation email took an hour."

    response = submit_public_form(page, text, rating="4")

    assert response.status == 200
    assert page.url.endswith("/feedback/thanks/")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    stored = Feedback.objects.get(text=text)
    assert stored.channel == Feedback.Channel.FORM
    assert stored.rating == 4
    assert stored.source == "web form"
    page.problems.assert_none()
    assert page.problems.failed_responses == []


def test_public_form_shows_field_errors_for_empty_text(page):
    response = submit_public_form(page, "", rating="2")

    # The view answers an invalid form with 400, which Chromium logs as a failed resource.
    assert response.status == 400
    assert page.url.endswith("/feedback/")
    expect(page.get_by_role("heading", name="Tell us what you think")).to_be_visible()
    error = page.locator("#id_text_error")
    expect(error).to_be_visible()
    expect(error).to_have_text("This field is required.")
    # The chosen rating survives the round trip.
    expect(page.get_by_label("How would you rate us overall?")).to_have_value("2")
    assert Feedback.objects.count() == 0
    assert [e for e in page.problems.console_errors if "status of 400" not in e] == []
    page.problems.console_errors.clear()
    page.problems.assert_none()


def test_public_form_is_answered_with_the_keyboard_without_an_invisible_stop(page):
    page.goto("/feedback/")
    page.get_by_label("Your feedback").focus()
    stops = []
    for _ in range(6):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.name || document.activeElement.tagName"))

    # The honeypot (off-screen, aria-hidden) is never a stop where focus would vanish.
    assert stops == ["rating", "product", "name", "email", "consent", "BUTTON"]
    page.problems.assert_none()


def _send_an_email_without_consent_on_a_phone(page):
    """The public form sent from a phone with an email address but the consent unticked."""
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto("/feedback/")
    page.get_by_label("Your feedback").fill("The courier was late again.")
    page.get_by_role("textbox", name="Email").fill("ana@example.com")
    with page.expect_navigation():
        page.get_by_role("button", name="Send feedback").click()


def test_consent_error_reads_under_the_checkbox_on_a_phone(page):
    _send_an_email_without_consent_on_a_phone(page)

    error = page.locator("#id_consent_error")
    expect(error).to_have_text(
        "Tick the box so we may keep your name and email, or leave them out."
    )
    field = page.locator(".field.checkbox").bounding_box()
    label = page.get_by_text("I agree that").bounding_box()
    box = error.bounding_box()
    # Under the label, as wide as the field: not a narrow column beside the label.
    assert box["y"] >= label["y"] + label["height"]
    assert box["width"] >= 0.9 * field["width"]
    assert Feedback.objects.count() == 0


def test_after_a_refused_feedback_focus_is_on_the_field_to_fix(page):
    _send_an_email_without_consent_on_a_phone(page)

    consent = page.get_by_role("checkbox", name="I agree that")
    expect(consent).to_be_focused()
    expect(page.locator("#id_consent_error")).to_be_in_viewport()
    consent.press("Space")
    with page.expect_navigation():
        page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert Feedback.objects.get().submitter_email == "ana@example.com"


def _seed_trend() -> tuple[int, int]:
    """Feedback over twelve weeks with mixed sentiment; return (last 30 days, 30 before)."""
    now = timezone.now()
    current_days = [1, 1, 3, 5, 9, 10, 15, 17, 20, 24, 26, 28]
    previous_days = [33, 38, 45, 50, 57]
    older_days = [64, 72, 80]
    texts = [POSITIVE, NEGATIVE, NEUTRAL]
    for n, days_ago in enumerate(current_days + previous_days + older_days):
        record_feedback(
            channel="form",
            text=f"{texts[n % 3]} (#{n})",
            received_at=now - dt.timedelta(days=days_ago),
        )
    assert analyse_all_pending() == len(current_days + previous_days + older_days)
    labels = set(Feedback.objects.values_list("sentiment_label", flat=True))
    assert labels == {"positive", "negative", "neutral"}
    return len(current_days), len(previous_days)


def test_manager_logs_in_and_sees_the_trend_chart_drawn(page):
    current, previous = _seed_trend()
    UserFactory(username="maria", role="manager")

    with page.expect_response(lambda r: r.url.endswith(CHART_JS)) as chart_js:
        log_in(page, "maria")
    assert chart_js.value.status == 200

    assert page.url.endswith("/insights/")
    expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
    canvas = page.locator("#series-chart")
    # dashboard.js sets data-drawn (the weeks shown, forecast included) once Chart.js drew.
    expect(canvas).to_have_attribute("data-drawn", re.compile(r"^\d+$"))
    assert int(canvas.get_attribute("data-drawn")) >= 5  # the 30 days span 5 or 6 weeks
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200

    pixels = canvas.evaluate(
        """(canvas) => {
          const {width, height} = canvas;
          const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
          let painted = 0, bars = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] === 0) continue;
            painted++;
            // The volume bars are rgba(44, 94, 160, 0.6): clearly bluer than red.
            if (data[i + 2] - data[i] > 60) bars++;
          }
          return {width, height, painted, bars};
        }"""
    )
    assert pixels["width"] > 0 and pixels["height"] > 0
    assert pixels["painted"] > 5_000, pixels
    assert pixels["bars"] > 1_000, pixels

    tile = page.locator(".tile").filter(
        has=page.get_by_role("heading", name="Feedback volume", exact=True)
    )
    expect(tile.locator(".value")).to_have_text(f"{current:,}")
    expect(tile.locator(".previous")).to_have_text(f"Before: {previous:,}")
    expect(page.locator(".lede")).not_to_contain_text("waiting for analysis")

    page.screenshot(path="/tmp/dashboard.png", full_page=True)
    page.problems.assert_none()
    assert page.problems.failed_responses == []


def test_staff_triages_feedback_in_inbox(page):
    for text in (POSITIVE, NEGATIVE, NEUTRAL):
        record_feedback(channel="form", text=text)
    analyse_all_pending()
    negative = Feedback.objects.get(text=NEGATIVE)
    assert negative.sentiment_label == "negative"
    staff = UserFactory(username="sam", role="staff")

    log_in(page, "sam")
    assert page.url.endswith("/inbox/")
    rows = page.locator("table.inbox tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Sentiment").select_option("negative")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "sentiment=negative" in page.url
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NEGATIVE)
    expect(page.get_by_text(POSITIVE)).to_have_count(0)

    with page.expect_navigation():
        page.get_by_role("link", name=NEGATIVE).click()
    assert page.url.endswith(f"/inbox/{negative.pk}/")
    expect(page.get_by_role("heading", name=f"Feedback #{negative.pk}")).to_be_visible()
    page.get_by_label("Status").select_option("triaged")
    page.get_by_label("Assignee").select_option(label="sam")
    page.get_by_label("Tags").fill("Billing, mobile app")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messages")).to_have_text("Feedback updated.")
    expect(page.get_by_label("Status")).to_have_value("triaged")
    expect(page.get_by_label("Tags")).to_have_value("billing, mobile-app")
    negative.refresh_from_db()
    assert negative.status == Feedback.Status.TRIAGED
    assert negative.assignee == staff
    assert sorted(negative.tags.values_list("name", flat=True)) == ["billing", "mobile-app"]
    assert Feedback.objects.filter(status=Feedback.Status.TRIAGED).count() == 1
    page.problems.assert_none()


def test_escaped_output_no_script_runs(page):
    submit_public_form(page, XSS)
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    stored = Feedback.objects.get()
    assert stored.text == XSS
    assert stored.channel == Feedback.Channel.FORM
    UserFactory(username="sam", role="staff")

    log_in(page, "sam")
    assert page.url.endswith("/inbox/")
    page.wait_for_load_state("load")
    link = page.locator("table.inbox tbody a")
    expect(link).to_have_text(XSS)
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0

    with page.expect_navigation():
        link.click()
    page.wait_for_load_state("load")
    verbatim = page.locator("blockquote.verbatim")
    expect(verbatim).to_have_text(XSS)
    assert verbatim.locator("img, script").count() == 0
    assert page.problems.dialogs == []
    page.problems.assert_none()


def test_any_form_sent_back_with_errors_focuses_the_first_field_to_fix(page):
    UserFactory(username="maria", role="manager")
    log_in(page, "maria")
    page.goto("/surveys/new/")
    with page.expect_navigation():
        page.get_by_role("button", name="Create survey").click()

    expect(page.get_by_label("Title")).to_be_focused()
    assert page.problems.page_errors == []  # (the 400 itself is in the console)
