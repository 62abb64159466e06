"""Focus group fast entry and interview highlights, driven in headless Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback import focus_groups, interviews
from feedback.models import Feedback, FocusGroupEntry, InterviewHighlight
from feedback.tests.factories import CustomerFactory, UserFactory

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_moderator_adds_two_findings_without_leaving_the_session_page(page):
    sam = UserFactory(username="sam", role="staff")
    ann = CustomerFactory(name="Ann Example")
    group = focus_groups.save_focus_group(
        topic="Checkout redesign",
        scheduled_at=timezone.now() - dt.timedelta(minutes=30),
        moderator=sam,
        participants=[ann, CustomerFactory(name="Finance", internal=True)],
    )
    log_in(page, "sam")
    page.goto(f"/focus-groups/{group.pk}/")
    expect(page.get_by_role("heading", name="Checkout redesign")).to_be_visible()
    expect(page.locator("[data-session-status]")).to_have_text("Planned")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    page.get_by_label("Finding or quote").fill("Nobody found the coupon field")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("li.entry")).to_have_count(1)
    expect(page.locator("[data-session-status]")).to_have_text("Held")  # without a reload

    page.get_by_label("Finding or quote").fill("I'd pay with <PayPal> every time")
    page.get_by_label("Kind").select_option("quote")
    page.get_by_label("Participant").select_option(label="Ann Example")
    page.get_by_label("Finding or quote").press("Control+Enter")
    expect(page.locator("li.entry")).to_have_count(2)
    expect(page.locator("li.entry").first).to_contain_text("I'd pay with <PayPal> every time")
    expect(page.locator("li.entry").first).to_contain_text("Ann Example")
    expect(page.get_by_label("Finding or quote")).to_have_value("")
    expect(page.get_by_label("Finding or quote")).to_be_focused()

    # An empty entry is refused in the page, nothing is sent.
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Write the finding or quote first.")

    assert navigations == []  # no reload between entries
    entries = list(FocusGroupEntry.objects.select_related("feedback", "participant").order_by("id"))
    assert [(e.feedback.text, e.kind, e.participant) for e in entries] == [
        ("Nobody found the coupon field", "finding", None),
        ("I'd pay with <PayPal> every time", "quote", ann),
    ]
    assert {e.feedback.channel for e in entries} == {Feedback.Channel.FOCUS_GROUP}
    page.reload()
    expect(page.locator("li.entry")).to_have_count(2)
    page.screenshot(path="/tmp/focus-group-session.png", full_page=True)
    page.problems.assert_none()


def test_interviewer_selects_a_passage_and_keeps_it_as_a_highlight(page):
    sam = UserFactory(username="sam", role="staff")
    customer = CustomerFactory(name="Cem")
    transcript = (
        "Q: How was the onboarding? 🙂\n"
        "A: The setup wizard was quick. But the invoice page confused me completely.\n"
        "Q: Anything else?\n"
        "A: No."
    )
    interview = interviews.save_interview(
        customer=customer,
        interviewer=sam,
        conducted_at=timezone.now() - dt.timedelta(days=1),
        transcript=transcript,
    )
    log_in(page, "sam")
    page.goto(f"/interviews/{interview.pk}/")
    passage = "the invoice page confused me completely"

    # Select the passage in the transcript, as a person would with the mouse.
    page.evaluate(
        """(passage) => {
            const pre = document.querySelector('[data-transcript]');
            const node = pre.firstChild;
            const start = node.textContent.indexOf(passage);
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, start + passage.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        passage,
    )
    expect(page.get_by_label("Excerpt")).to_have_value(passage)
    page.get_by_role("button", name="Add highlight").click()
    expect(page.locator("li.highlight")).to_have_count(1)
    expect(page.locator("li.highlight")).to_contain_text(passage)

    highlight = InterviewHighlight.objects.select_related("feedback").get()
    # The emoji before the passage counts twice in the browser's offsets; the server
    # still lands on the passage itself.
    assert transcript[highlight.start : highlight.end] == passage
    assert (highlight.feedback.channel, highlight.feedback.customer) == ("interview", customer)

    # A pasted passage that is not in the transcript is refused with a message.
    page.get_by_label("Excerpt").fill("the invoice page was great")
    page.get_by_role("button", name="Add highlight").click()
    expect(page.get_by_role("alert")).to_contain_text("does not occur in the transcript")
    assert InterviewHighlight.objects.count() == 1

    page.reload()
    expect(page.locator("[data-transcript] mark")).to_have_text(passage)
    page.screenshot(path="/tmp/interview-highlight.png", full_page=True)
    assert [r for r in page.problems.failed_responses if "/highlights/" not in r] == []
    assert page.problems.page_errors == [] and page.problems.dialogs == []


def test_staff_saves_a_view_and_closes_two_rows_at_once(page):
    from feedback.tests.factories import FeedbackFactory

    UserFactory(username="sam", role="staff")
    for text in ("Parcel arrived broken", "Parcel was late", "Parcel was fine"):
        FeedbackFactory(text=text, channel="review", source="shop")
    FeedbackFactory(text="The form is nice", channel="form")
    log_in(page, "sam")
    page.goto("/inbox/?channel=review")
    expect(page.locator("table.inbox tbody tr")).to_have_count(3)

    page.get_by_label("Save these filters as").fill("Reviews")
    with page.expect_navigation():
        page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("link", name="Reviews")).to_have_attribute("aria-current", "page")

    page.get_by_label("Select all on this page").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    page.locator("table.inbox tbody tr", has_text="Parcel was fine").get_by_role(
        "checkbox"
    ).uncheck()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    page.get_by_label("Set status").select_option("closed")
    page.get_by_label("Add tag").fill("delivery")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply to selected").click()

    expect(page.get_by_role("status")).to_contain_text("2 feedback updated.")
    assert page.url.endswith("/inbox/?channel=review")
    closed = Feedback.objects.filter(status="closed").order_by("text")
    assert [f.text for f in closed] == ["Parcel arrived broken", "Parcel was late"]
    assert all(list(f.tags.values_list("name", flat=True)) == ["delivery"] for f in closed)
    page.screenshot(path="/tmp/inbox-bulk.png", full_page=True)
    page.problems.assert_none()
