"""A manager builds a survey with a logic rule; a respondent answers it in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.tests.factories import UserFactory
from surveys.models import Response, Survey

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def add_question(page, kind: str, text: str, **extra) -> None:
    page.get_by_role("link", name="Add a question").click()
    page.locator("#id_kind").select_option(kind)
    page.locator("#id_text").fill(text)
    if extra.get("required"):
        page.locator("#id_required").check()
    if "choices" in extra:
        expect(page.locator("#id_choices")).to_be_visible()
        page.locator("#id_choices").fill("\n".join(extra["choices"]))
    if "key" in extra:
        page.locator("#id_key").fill(extra["key"])
    if "show_if" in extra:
        question, op, value = extra["show_if"]
        page.locator("#id_show_if_question").select_option(question)
        page.locator("#id_show_if_op").select_option(op)
        page.locator("#id_show_if_value").fill(value)
    with page.expect_navigation():
        page.get_by_role("button", name="Add question").click()
    expect(page.locator(".message").first).to_contain_text("Question added.")


def test_manager_builds_survey_with_logic_and_respondent_answers(page):
    UserFactory(username="maria_manager", role="manager")
    log_in(page, "maria_manager")

    page.goto("/surveys/")
    page.get_by_role("link", name="New survey").click()
    page.locator("#id_title").fill("Checkout survey")
    with page.expect_navigation():
        page.get_by_role("button", name="Create survey").click()
    expect(page.get_by_role("heading", name="Checkout survey")).to_be_visible()

    add_question(page, "nps", "How likely are you to recommend us?", key="nps", required=True)
    add_question(page, "long_text", "What went wrong?", key="wrong", show_if=("nps", "lte", "6"))
    add_question(page, "single", "Which plan are you on?", key="plan", choices=["Free", "Pro"])
    expect(page.locator(".question-item")).to_have_count(3)
    expect(page.locator("#q-wrong .logic")).to_contain_text("Shown when nps is at most 6")

    with page.expect_navigation():
        page.get_by_role("button", name="Open survey").click()
    survey = Survey.objects.get()
    assert survey.status == Survey.Status.OPEN
    page.problems.assert_none()

    # A respondent, not signed in.
    page.context.clear_cookies()
    page.goto(f"/s/{survey.slug}/")
    expect(page.get_by_role("heading", name="Checkout survey")).to_be_visible()
    wrong = page.locator("#sq-wrong")
    expect(wrong).to_be_hidden()
    nps = page.locator("#sq-nps")
    nps.get_by_text("9", exact=True).click()
    expect(wrong).to_be_hidden()
    nps.get_by_text("4", exact=True).click()
    expect(wrong).to_be_visible()
    wrong.locator("textarea").fill("The payment page froze.")
    nps.get_by_text("10", exact=True).click()
    expect(wrong).to_be_hidden()
    nps.get_by_text("5", exact=True).click()
    expect(wrong).to_be_visible()
    page.locator("#sq-plan").get_by_text("Pro").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    response = Response.objects.get()
    answers = {a.question.key: a for a in response.answers.all()}
    assert answers["nps"].number == 5
    assert answers["wrong"].text == "The payment page froze."
    assert answers["wrong"].feedback.channel == "survey"
    assert answers["plan"].choices == ["Pro"]
    page.problems.assert_none()


def test_hidden_answer_is_dropped_and_errors_keep_answers(page):
    from surveys.tests.factories import make_survey

    survey = make_survey()
    page.goto(f"/s/{survey.slug}/")
    nps = page.locator("#sq-nps")
    expect(page.locator("#sq-why")).to_be_hidden()
    nps.get_by_text("2", exact=True).click()
    # Submitting without the now-required follow-up shows its error and keeps the score.
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.locator("#sq-why .error")).to_have_text("This question requires an answer.")
    expect(page.locator("#sq-why")).to_be_visible()
    expect(nps.locator("input[value='2']")).to_be_checked()
    page.locator("#sq-why textarea").fill("Slow")
    nps.get_by_text("9", exact=True).click()
    expect(page.locator("#sq-why")).to_be_hidden()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    answers = Response.objects.get().answers.all()
    assert [(a.question.key, a.number) for a in answers] == [("nps", 9.0)]
