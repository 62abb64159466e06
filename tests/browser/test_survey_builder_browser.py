"""A manager drags questions into a new order in the survey builder (SortableJS)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.tests.factories import UserFactory
from surveys.tests.factories import make_survey

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def drag_above(page, key: str, target_key: str) -> None:
    """Press the handle of ``key`` and release it over the top of ``target_key``.

    Step by step with the mouse: SortableJS decides where an item goes from the moves in
    between, which a single jump (``drag_to``) does not produce reliably.
    """
    handle = page.locator(f"#q-{key} .drag-handle").bounding_box()
    target = page.locator(f"#q-{target_key}").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    x = target["x"] + 40
    # Pauses longer than the list's 150 ms animation: moves during it are not acted on.
    for y in (target["y"] + target["height"] / 2, target["y"] + 6, target["y"] + 4):
        page.mouse.move(x, y, steps=8)
        page.wait_for_timeout(250)
    page.mouse.up()


def keys_on_page(page) -> list[str]:
    return page.locator("#question-list .question-item").evaluate_all(
        "items => items.map(item => item.dataset.key)"
    )


QUESTIONS = [
    {"key": "plan", "kind": "single", "text": "Which plan?", "choices": ["Free", "Pro"]},
    {"key": "ease", "kind": "ces", "text": "How easy was it?"},
    {"key": "sat", "kind": "csat", "text": "How satisfied are you?"},
]


def test_manager_drags_a_question_and_the_order_is_stored(page):
    survey = make_survey(questions=QUESTIONS)
    UserFactory(username="maria_manager", role="manager")
    log_in(page, "maria_manager")
    page.goto(f"/surveys/{survey.pk}/")
    expect(page.locator("#reorder-hint")).to_be_visible()

    drag_above(page, "sat", "plan")

    expect(page.locator("#reorder-status")).to_have_text("Question order saved.")
    assert keys_on_page(page) == ["sat", "plan", "ease"]
    # The move buttons follow the new first and last question.
    expect(page.locator("#q-sat form[action$='/up/'] button")).to_be_disabled()
    expect(page.locator("#q-plan form[action$='/up/'] button")).to_be_enabled()
    assert list(survey.questions.current().values_list("key", flat=True)) == [
        "sat",
        "plan",
        "ease",
    ]
    page.reload()
    assert keys_on_page(page) == ["sat", "plan", "ease"]
    page.screenshot(path="/tmp/survey-builder-reorder.png", full_page=True)
    page.problems.assert_none()


def test_a_drop_that_breaks_a_display_rule_is_put_back_with_the_reason(page):
    survey = make_survey(
        questions=[
            *QUESTIONS[:2],
            {
                "key": "why",
                "kind": "short_text",
                "text": "Why not easy?",
                "show_if": {"question": "ease", "op": "gte", "value": 5},
            },
        ]
    )
    UserFactory(username="maria_manager", role="manager")
    log_in(page, "maria_manager")
    page.goto(f"/surveys/{survey.pk}/")

    drag_above(page, "why", "ease")

    expect(page.locator("#reorder-error")).to_contain_text("ease")
    expect(page.locator("#reorder-error")).to_be_visible()
    assert keys_on_page(page) == ["plan", "ease", "why"]
    assert list(survey.questions.current().values_list("key", flat=True)) == [
        "plan",
        "ease",
        "why",
    ]
    # Only the refused POST failed (400): no script error, no dialog.
    assert page.problems.page_errors == [] and page.problems.dialogs == []


def test_staff_see_the_questions_without_handles(page):
    survey = make_survey(questions=QUESTIONS)
    UserFactory(username="sam_staff", role="staff")
    log_in(page, "sam_staff")
    page.goto(f"/surveys/{survey.pk}/")
    expect(page.locator(".question-item")).to_have_count(3)
    expect(page.locator(".drag-handle")).to_have_count(0)
    expect(page.locator("#question-list")).to_have_count(0)
    page.problems.assert_none()
