"""The roadmap in headless Chromium: a manager accepts a suggested idea, then moves it from
Later to Next (a click) to Now (the keyboard), and finds it in Now after a reload."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.tests.factories import CustomerFactory, FeedbackFactory, UserFactory
from innovation.models import Idea, IdeaSuggestion
from innovation.suggestions import suggest_ideas
from insights.models import DailyThemeStat, FeedbackTheme, Theme

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def _pending_suggestion() -> IdeaSuggestion:
    theme = Theme.objects.create(name="Checkout errors", slug="checkout-errors")
    yesterday = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=1)
    DailyThemeStat.objects.create(
        day=yesterday, theme=theme, channel="form", customer_kind="external",
        feedback_count=30, analysed_count=30, negative_count=24, sentiment_sum=-12,
    )  # fmt: skip
    when = timezone.now() - dt.timedelta(days=1)
    for text in ("My card is declined at checkout", "Checkout crashes on the last step"):
        feedback = FeedbackFactory(
            text=text, customer=CustomerFactory(), received_at=when, analysed_at=when,
            sentiment_label="negative", sentiment_score=-0.8,
        )  # fmt: skip
        FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=0.9, source="model")
    suggest_ideas()
    return IdeaSuggestion.objects.get(status="pending")


def _lane(page, name: str):
    return page.locator(f'ol.roadmap-cards[data-lane="{name}"]')


def test_manager_accepts_a_suggestion_and_moves_it_later_next_now(page):
    UserFactory(username="maria", role="manager")
    suggestion = _pending_suggestion()
    log_in(page, "maria")

    page.goto("/ideas/suggestions/")
    card = page.locator(f"#suggestion-{suggestion.pk}")
    expect(card).to_contain_text("My card is declined at checkout")
    card.get_by_text("Accept as an idea…").click()
    card.get_by_label("Title").fill("Fix card declines at checkout")
    with page.expect_navigation():
        card.get_by_role("button", name=re.compile("^Accept “")).click()

    idea = Idea.objects.get()
    assert idea.origin == Idea.Origin.SUGGESTED and idea.evidence.count() == 2
    expect(page.get_by_role("status").first).to_contain_text("Fix card declines at checkout")
    unplaced = page.locator(f"#idea-{idea.pk}")
    expect(unplaced).to_contain_text("Fix card declines at checkout")

    # Scripted: no page load, the board is swapped in place (the marker survives).
    page.evaluate("window.stillTheSamePage = true")
    unplaced.get_by_role("button", name="to Later").click()
    expect(_lane(page, "later").locator(f"#idea-{idea.pk}")).to_be_visible()
    expect(page.locator("#roadmap-status")).to_contain_text("is now in Later")

    _lane(page, "later").locator(f"#idea-{idea.pk}").get_by_role("button", name="to Next").click()
    expect(_lane(page, "next").locator(f"#idea-{idea.pk}")).to_be_visible()
    expect(_lane(page, "later").locator(f"#idea-{idea.pk}")).to_have_count(0)

    # By keyboard: focus the button, press Enter.
    to_now = _lane(page, "next").locator(f"#idea-{idea.pk}").get_by_role("button", name="to Now")
    to_now.focus()
    page.keyboard.press("Enter")
    expect(_lane(page, "now").locator(f"#idea-{idea.pk}")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True

    page.reload()
    expect(_lane(page, "now").locator(f"#idea-{idea.pk}")).to_contain_text(
        "Fix card declines at checkout"
    )
    expect(_lane(page, "next").locator(f"#idea-{idea.pk}")).to_have_count(0)
    idea.refresh_from_db()
    assert idea.lane == "now" and idea.status == Idea.Status.PLANNED
    page.problems.assert_none()
