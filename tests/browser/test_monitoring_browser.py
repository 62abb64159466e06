"""Monitoring pages in headless Chromium: the runs page follows a running analysis, and
an alert is acknowledged and resolved from the alerts page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.tests.factories import UserFactory
from insights import alerts
from insights.models import Alert, AnalysisRun

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_runs_page_moves_the_progress_bar_and_shows_the_finished_run(page):
    UserFactory(username="maria", role="manager")
    run = AnalysisRun.objects.create(kind="forecast", total=10, done=2)
    log_in(page, "maria")

    page.goto("/insights/runs/")
    bar = page.get_by_role("progressbar", name=f"Progress of run {run.pk}")
    expect(bar).to_have_attribute("value", "20")

    AnalysisRun.objects.filter(pk=run.pk).update(done=7, rows=70)
    expect(bar).to_have_attribute("value", "70", timeout=8000)

    AnalysisRun.objects.filter(pk=run.pk).update(status="succeeded", done=10, rows=100)
    # The script reloads once the run is over: no bar, the final row count.
    expect(page.get_by_role("progressbar")).to_have_count(0, timeout=8000)
    expect(page.locator(f'tr[data-run="{run.pk}"] [data-field="rows"]')).to_have_text("100")
    page.problems.assert_none()


def test_after_run_now_the_runs_page_shows_the_run_once_a_worker_has_done_it(page):
    UserFactory(username="maria", role="manager")
    earlier = AnalysisRun.objects.create(kind="alerts", status="succeeded", rows=3)
    log_in(page, "maria")

    # Where "Run now" leads: the task is queued, no worker has started it yet.
    page.goto(f"/insights/runs/?queued=alerts&after={earlier.pk}")
    expect(page.locator("tr[data-run]")).to_have_count(1)
    # A quick run: started and finished between two looks at the page.
    run = AnalysisRun.objects.create(kind="alerts", status="succeeded", rows=20)

    expect(page.locator(f'tr[data-run="{run.pk}"] [data-field="rows"]')).to_have_text(
        "20", timeout=8000
    )
    assert page.url.endswith("/insights/runs/")
    page.problems.assert_none()


def test_staff_acknowledges_and_resolves_an_alert(page):
    UserFactory(username="sam", role="staff")
    alert, _ = alerts.raise_alert(
        fingerprint="sentiment_drop:overall",
        kind="sentiment_drop",
        title="Sentiment dropped (overall): 0.4 → 0.1",
        evidence={"p_value": 0.0004, "n_current": 120},
    )
    log_in(page, "sam")

    # The navigation says on every page that an alert waits for a look.
    page.goto("/inbox/")
    nav_link = page.get_by_role("link", name="Alerts, 1 open")
    expect(nav_link.locator(".nav-badge")).to_have_text("1")
    nav_link.click()
    card = page.locator(f"#alert-{alert.pk}")
    expect(card).to_contain_text("Sentiment dropped (overall)")
    with page.expect_navigation():
        card.get_by_role("button", name="Acknowledge").click()
    expect(card).to_contain_text("Acknowledged by sam")
    expect(page.locator("nav .nav-badge")).to_be_hidden()
    card.get_by_label("Resolution note").fill("Release 4.2 rolled back")
    with page.expect_navigation():
        card.get_by_role("button", name="Resolve").click()
    expect(page.locator(f"#alert-{alert.pk}")).to_have_count(0)
    alert.refresh_from_db()
    assert (
        alert.status == Alert.Status.RESOLVED and alert.resolution_note == "Release 4.2 rolled back"
    )
    page.problems.assert_none()


def test_a_superuser_follow_up_owner_keeps_the_feedback_when_staff_change_its_status(page):
    from django.contrib.auth import get_user_model

    from feedback.models import Feedback
    from feedback.tests.factories import FeedbackFactory, ProductFactory

    UserFactory(username="sam", role="staff")
    # A superuser made with createsuperuser has no role group, yet may own follow-ups.
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    product = ProductFactory(name="Brightway Pay")
    alerts.set_product_owner(product=product, owner=root)
    feedback = FeedbackFactory(
        text="Payment failed twice", product=product, rating=1, rating_min=1, rating_max=5
    )
    alerts.create_detractor_follow_ups()
    feedback.refresh_from_db()
    assert feedback.assignee == root
    log_in(page, "sam")

    page.goto(f"/inbox/{feedback.pk}/")
    expect(page.get_by_label("Assignee")).to_have_value(str(root.pk))
    page.get_by_label("Status").select_option("actioned")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Feedback updated.")
    feedback.refresh_from_db()
    assert (feedback.status, feedback.assignee) == (Feedback.Status.ACTIONED, root)
    page.problems.assert_none()


def test_acting_on_an_alert_on_the_second_page_comes_back_to_that_page(page):
    import datetime as dt

    from django.utils import timezone

    UserFactory(username="sam", role="staff")
    now = timezone.now()
    for n in range(52):
        alerts.raise_alert(
            fingerprint=f"detractor:{n}",
            kind="detractor_comment",
            title=f"Detractor comment number {n}",
            evidence={},
            now=now - dt.timedelta(minutes=n),
        )
    log_in(page, "sam")

    page.goto("/insights/alerts/?status=unresolved&page=2")
    card = page.locator("article", has_text="Detractor comment number 50")
    with page.expect_navigation():
        card.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Acknowledged: Detractor comment number 50")
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(card).to_contain_text("Acknowledged by sam")

    card.get_by_label("Resolution note").fill("Called back")
    with page.expect_navigation():
        card.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.locator("article", has_text="Detractor comment number 51")).to_be_visible()
    page.problems.assert_none()


def test_a_refused_alert_rule_comes_back_at_the_field_to_correct(page):
    UserFactory(username="maria", role="manager")
    log_in(page, "maria")
    page.goto("/insights/alerts/rules/new/")
    page.get_by_label("Name").fill("Too negative")
    page.get_by_label("Metric").select_option("negative_share")
    page.get_by_label("Condition").select_option("above")
    page.get_by_label("Threshold").fill("0.3")
    page.get_by_label("Also email").fill("cx@example.com, not-an-address")
    with page.expect_navigation():
        page.get_by_role("button", name="Save rule").click()

    emails = page.get_by_label("Also email")
    expect(emails).to_be_focused()
    expect(page.get_by_text("Not an email address: not-an-address")).to_be_in_viewport()
    expect(emails).to_have_value("cx@example.com, not-an-address")
    expect(page.get_by_label("Name")).to_have_value("Too negative")
    assert page.problems.page_errors == [] and page.problems.dialogs == []


def test_saving_a_rule_of_a_product_no_longer_sold_keeps_its_product(page):
    from feedback.tests.factories import ProductFactory
    from insights.models import AlertRule

    UserFactory(username="maria", role="manager")
    old_app = ProductFactory(name="Old app", slug="old-app")
    rule = AlertRule.objects.create(
        name="Old app complaints", metric="volume", condition="above", threshold=50,
        product=old_app,
    )  # fmt: skip
    old_app.active = False
    old_app.save()
    log_in(page, "maria")

    page.goto(f"/insights/alerts/rules/{rule.pk}/")
    expect(page.get_by_label("Product")).to_have_value(str(old_app.pk))
    page.get_by_label("Name").fill("Old app: complaints")
    with page.expect_navigation():
        page.get_by_role("button", name="Save rule").click()

    expect(page.get_by_role("status")).to_contain_text("saved")
    rule.refresh_from_db()
    assert (rule.name, rule.product) == ("Old app: complaints", old_app)
    page.problems.assert_none()


def test_switching_the_sentiment_model_asks_first_and_cancel_keeps_the_active_one(page):
    from insights.model_training import ensure_lexicon_model
    from insights.models import SentimentModel

    UserFactory(username="maria", role="manager")
    active = ensure_lexicon_model()
    SentimentModel.objects.create(version=2, kind="lexicon", note="Kept inactive: not better")
    log_in(page, "maria")

    page.goto("/insights/models/")
    # The page fixture answers every dialog with "Cancel".
    page.get_by_role("button", name="Activate").click()
    page.wait_for_timeout(500)

    assert page.problems.dialogs == [
        "confirm: Make v2 the sentiment model that scores all feedback? Feedback scored by "
        "another model is re-scored with it in the background."
    ]
    assert page.url.endswith("/insights/models/")
    active.refresh_from_db()
    assert active.is_active and not SentimentModel.objects.get(version=2).is_active
    assert page.problems.page_errors == [] and page.problems.console_errors == []


def test_the_rule_forms_number_fields_look_like_its_other_fields(page):
    UserFactory(username="maria", role="manager")
    log_in(page, "maria")

    page.goto("/insights/alerts/rules/new/")

    name = page.get_by_label("Name").bounding_box()
    for label in ("Threshold", "Window (days)", "Minimum observations"):
        box = page.get_by_label(label).bounding_box()
        assert (round(box["width"]), round(box["height"])) == (
            round(name["width"]),
            round(name["height"]),
        ), label
    page.problems.assert_none()


def test_a_refused_action_is_shown_as_an_error_not_as_a_success(page):
    UserFactory(username="sam", role="staff")
    alert, _ = alerts.raise_alert(
        fingerprint="rule:1", kind="rule", title="Negative share high", evidence={}
    )
    log_in(page, "sam")
    page.goto("/insights/alerts/")
    alerts.clear_condition("rule:1")  # the evaluator resolves it while the page is open

    with page.expect_navigation():
        page.get_by_role("button", name="Acknowledge").click()

    message = page.locator(".message")
    expect(message).to_have_text("This alert is already resolved.")
    expect(message).to_have_css("background-color", "rgb(253, 241, 241)")
