"""The idea backlog in headless Chromium: staff find similar feedback for an idea, tick two
candidates, confirm, and see the evidence count rise."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.tests.factories import CustomerFactory, FeedbackFactory, UserFactory
from innovation import services
from innovation.models import IdeaEvidence

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_staff_confirms_two_similar_feedback_as_evidence(page, monkeypatch):
    # TF-IDF similarity: the same ranking whether or not the embedding model is installed.
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")
    staff = UserFactory(username="sam", role="staff")
    first = FeedbackFactory(text="The invoice PDF export fails every month.")
    idea = services.create_idea(
        title="Fix invoice PDF export",
        problem="Invoice PDF export fails for business customers.",
        created_by=staff,
        feedback_ids=[first.pk],
    )
    close = FeedbackFactory(
        text="Invoice PDF export fails again, I cannot download my invoice.",
        customer=CustomerFactory(name="Acme"),
    )
    closer = FeedbackFactory(text="Exporting the invoice to PDF fails with an error.")
    FeedbackFactory(text="Friendly courier, quick delivery.")
    log_in(page, "sam")

    page.goto(f"/ideas/{idea.pk}/")
    expect(page.locator("#evidence-count")).to_have_text("1")
    with page.expect_navigation():
        page.get_by_role("link", name="Find similar").click()
    expect(page.locator(f"#candidate-{close.pk}")).to_be_visible()
    page.locator(f"#candidate-{close.pk}").check()
    page.locator(f"#candidate-{closer.pk}").check()
    expect(page.locator("#ticked-count")).to_have_text("2 ticked")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm as evidence").click()

    expect(page.locator("#evidence-count")).to_have_text("3")
    expect(page.get_by_text("2 feedback linked as evidence.")).to_be_visible()
    links = IdeaEvidence.objects.filter(idea=idea, source="similar")
    assert set(links.values_list("feedback_id", flat=True)) == {close.pk, closer.pk}
    assert all(0 < link.similarity <= 1 for link in links)
    page.problems.assert_none()
