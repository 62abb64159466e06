"""The review import, driven in headless Chromium: upload, map, watch the progress bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.models import Feedback, ReviewImport
from feedback.tasks import import_reviews_task
from feedback.tests.factories import UserFactory

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser

EXPORT = (
    "Review Id;Reviewer;Stars;Date;Review Text\n"
    "tp-1;Ann;5;31/01/2024;Quick delivery, lovely packaging\n"
    "tp-2;Bob;1;02/02/2024;The app logs me out every day\n"
    "tp-3;Cem;7;03/02/2024;Out of scale\n"
    "tp-4;Dee;4;04/02/2024;<script>alert(1)</script>\n"
)


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path, monkeypatch):
    settings.REVIEW_IMPORT_DIR = tmp_path / "imports"
    # No broker in these tests: the test runs the task itself, like a worker would.
    monkeypatch.setattr(import_reviews_task, "apply_async", lambda *args, **kwargs: None)


def test_staff_imports_reviews_and_watches_the_progress(page):
    UserFactory(username="sam", role="staff")
    log_in(page, "sam")

    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Review imports")).to_be_visible()
    page.get_by_label("Export file").set_input_files(
        files=[{"name": "trustpilot.csv", "mimeType": "text/csv", "buffer": EXPORT.encode("utf-16")}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Which column is what?")).to_be_visible()
    expect(page.locator("table.preview tbody tr")).to_have_count(4)
    expect(page.get_by_label("Review text")).to_have_value("Review Text")
    expect(page.locator("#id_rating_column")).to_have_value("Stars")
    expect(page.get_by_label("Source")).to_have_value("trustpilot")
    page.get_by_label("Rating scale").select_option("1-5")
    page.screenshot(path="/tmp/review-import-map.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Import 4 rows").click()

    imp = ReviewImport.objects.get()
    assert (imp.status, imp.date_order, imp.encoding) == ("queued", "dmy", "utf-16")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "0")
    # "Queue it again" waits until nothing has moved for a minute, not offered at once.
    expect(page.get_by_role("button", name="Queue it again")).to_be_hidden()

    import_reviews_task(imp.pk)  # the worker

    # The page's script polls the status and reloads once the import is done.
    expect(page.locator('[data-field="status_display"]')).to_have_text("Done", timeout=15_000)
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(page.locator('[data-field="rows_imported"]')).to_have_text("3")
    expect(page.locator('[data-field="rows_skipped"]')).to_have_text("1")
    expect(page.get_by_role("cell", name="Stars (rating): Rating must lie between 1 and 5.")).to_be_visible()
    page.screenshot(path="/tmp/review-import-done.png", full_page=True)
    assert Feedback.objects.filter(source="trustpilot").count() == 3
    page.problems.assert_none()
