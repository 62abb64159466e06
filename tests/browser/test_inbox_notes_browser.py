"""Staff edit and delete their own notes, and share a saved view with the team."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback import inbox
from feedback.models import FeedbackNote, SavedView
from feedback.tests.factories import FeedbackFactory, UserFactory

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_author_edits_then_deletes_a_note_without_leaving_the_page(page):
    sam = UserFactory(username="sam", role="staff")
    maria = UserFactory(username="maria", role="manager")
    feedback = FeedbackFactory(text="Parcel arrived broken")
    mine = inbox.add_note(feedback=feedback, author=sam, text="Called the customer")
    inbox.add_note(feedback=feedback, author=maria, text="Refund approved")
    log_in(page, "sam")
    page.goto(f"/inbox/{feedback.pk}/")

    theirs = page.locator(".note", has_text="Refund approved")
    expect(theirs.get_by_text("Edit note")).to_have_count(0)
    note = page.locator(f"#note-{mine.pk}")
    note.get_by_text("Edit note").click()
    note.get_by_label("Internal note").fill("Called the customer, sent a new parcel")
    with page.expect_navigation():
        note.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("status")).to_contain_text("Note saved.")
    note = page.locator(f"#note-{mine.pk}")
    expect(note.locator(".note-text")).to_have_text("Called the customer, sent a new parcel")
    expect(note.locator(".note-edited")).to_contain_text("edited")
    note.get_by_text("Edit note").click()
    page.screenshot(path="/tmp/inbox-notes.png", full_page=True)

    with page.expect_navigation():
        note.get_by_role("button", name="Delete note").click()
    expect(page.get_by_role("status")).to_contain_text("Note deleted.")
    expect(page.locator(".note", has_text="Called the customer")).to_have_count(0)
    assert list(FeedbackNote.objects.values_list("text", flat=True)) == ["Refund approved"]
    page.problems.assert_none()


def test_a_shared_view_shows_for_a_colleague_who_cannot_change_it(page):
    UserFactory(username="sam", role="staff")
    UserFactory(username="sue", role="staff")
    FeedbackFactory(text="Parcel arrived broken", channel="review")
    log_in(page, "sam")
    page.goto("/inbox/?channel=review")
    page.get_by_label("Save these filters as").fill("Reviews")
    page.get_by_label("Share with the team").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save view").click()
    assert SavedView.objects.get().shared

    page.context.clear_cookies()
    log_in(page, "sue")
    page.goto("/inbox/")
    shared = page.locator(".saved-view", has_text="Reviews")
    expect(shared.locator(".view-owner")).to_have_text("shared by sam")
    expect(shared.get_by_role("button")).to_have_count(0)
    page.screenshot(path="/tmp/inbox-shared-view.png")
    with page.expect_navigation():
        shared.get_by_role("link", name="Reviews").click()
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    page.problems.assert_none()


def test_back_from_a_feedback_the_inbox_keeps_its_filters_and_page(page):
    UserFactory(username="sam", role="staff")
    for n in range(30):
        FeedbackFactory(text=f"Review number {n}", channel="review")
    FeedbackFactory(text="A form entry", channel="form")
    log_in(page, "sam")
    page.goto("/inbox/?channel=review&page=2")
    expect(page.locator("table.inbox tbody tr")).to_have_count(5)

    with page.expect_navigation():
        page.locator("table.inbox tbody tr").first.get_by_role("link").first.click()
    page.get_by_label("Status").select_option("triaged")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Feedback updated.")
    with page.expect_navigation():
        page.get_by_role("link", name="‹ Inbox").click()

    assert page.url.endswith("/inbox/?channel=review&page=2")
    expect(page.get_by_label("Channel", exact=True)).to_have_value("review")
    expect(page.locator("table.inbox tbody tr")).to_have_count(5)
    page.problems.assert_none()


def test_a_refused_note_brings_the_page_to_the_note_and_its_message(page):
    sam = UserFactory(username="sam", role="staff")
    feedback = FeedbackFactory(text="Parcel arrived broken")
    mine = inbox.add_note(feedback=feedback, author=sam, text="Called the customer")
    log_in(page, "sam")
    page.goto(f"/inbox/{feedback.pk}/")

    new_note = page.locator("#notes > form").get_by_label("Internal note")
    new_note.fill("   ")
    with page.expect_navigation():
        page.get_by_role("button", name="Add note").click()
    expect(new_note).to_be_focused()
    expect(page.locator("#notes > form .error")).to_have_text("This field is required.")
    expect(page.locator("#notes > form .error")).to_be_in_viewport()

    note = page.locator(f"#note-{mine.pk}")
    note.get_by_text("Edit note").click()
    note.get_by_label("Internal note").fill("  ")
    with page.expect_navigation():
        note.get_by_role("button", name="Save note").click()
    expect(note.get_by_label("Internal note")).to_be_focused()
    expect(note.locator(".error")).to_be_in_viewport()
    assert page.problems.page_errors == [] and page.problems.dialogs == []


def test_applying_nothing_to_ticked_rows_keeps_them_ticked(page):
    UserFactory(username="sam", role="staff")
    for text in ("Parcel arrived broken", "Parcel was late", "Parcel was fine"):
        FeedbackFactory(text=text)
    log_in(page, "sam")
    page.goto("/inbox/")
    rows = page.locator("table.inbox tbody tr")
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()

    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("[data-bulk-count]")).to_have_text(
        "Choose a status, an assignee or a tag to add."
    )
    expect(page.get_by_label("Set status")).to_be_focused()
    expect(page.locator("input[name=ids]:checked")).to_have_count(2)

    page.get_by_label("Add tag").fill("!!!")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("[data-bulk-count]")).to_have_text("A tag needs a letter (a–z) or a digit.")
    expect(page.get_by_label("Add tag")).to_be_focused()
    expect(page.locator("input[name=ids]:checked")).to_have_count(2)

    page.get_by_label("Add tag").fill("")
    page.get_by_label("Set status").select_option("closed")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_contain_text("2 feedback updated.")
    page.problems.assert_none()
