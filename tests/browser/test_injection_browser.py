"""Hostile text sent through the form, the API and an import is stored verbatim or refused,
and shown escaped: in headless Chromium no script runs and no dialog fires."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback import review_import
from feedback.models import Feedback
from feedback.review_import import values
from feedback.tasks import import_reviews_task
from feedback.tests.factories import UserFactory

from .test_pages_browser import log_in, submit_public_form

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert('form')</script> checkout broke"
IMG = '"><img src=x onerror="alert(\'api\')"> pay page'
SVG = "<svg/onload=alert('import')> review from the store"
SQL = "Robert'); DROP TABLE feedback_feedback;-- and the app froze"
RTL = "Refund \u202egnissim\u202c please \u200f\u05e9\u05dc\u05d5\u05dd"
LONG_UNICODE = "🙂 ünïcödé 漢字 " * 300  # about 3,900 characters, under the limit


def test_payloads_are_stored_verbatim_and_shown_escaped(page):
    response = submit_public_form(page, SCRIPT)
    assert response.status == 200
    page.problems.assert_none()

    _, raw = create_api_key(name="Help desk", scopes=["feedback:write"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for text in (IMG, SQL, RTL, LONG_UNICODE):
        created = api.post("/api/v1/feedback/", {"text": text, "channel": "api"}, format="json")
        assert created.status_code == 201, created.content
    refused = api.post(
        "/api/v1/feedback/", {"text": "nul\x00byte", "channel": "api"}, format="json"
    )
    assert refused.status_code == 400
    assert "text" in refused.json()["errors"]

    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["review", "stars", "date"])
    writer.writerow([SVG, "1", "2026-11-01"])
    writer.writerow(['=HYPERLINK("http://evil.example","x")', "2", "2026-11-02"])
    upload = SimpleUploadedFile("reviews.csv", rows.getvalue().encode())
    imp = review_import.create_review_import(upload=upload)
    mapping = values.guess_mapping(imp.columns, imp.column_profiles)
    review_import.start_review_import(review_import=imp, source="store", mapping=mapping)
    import_reviews_task(imp.pk)
    imp.refresh_from_db()
    errors = list(imp.row_errors.values_list("line", "reason"))
    assert (imp.rows_imported, imp.rows_skipped) == (2, 0), errors

    stored = set(Feedback.objects.values_list("text", flat=True))
    for text in (SCRIPT, IMG, SQL, RTL, LONG_UNICODE.strip(), SVG):
        assert text in stored
    assert Feedback.objects.count() == 7  # 1 form + 4 API + 2 imported: the table survived

    UserFactory(username="sam", role="staff")
    log_in(page, "sam")
    page.goto("/inbox/")
    for text in (SCRIPT, IMG, SVG):
        expect(page.get_by_text(text[:30], exact=False).first).to_be_visible()
    for feedback in Feedback.objects.all():
        page.goto(f"/inbox/{feedback.pk}/")
        expect(page.locator("main")).to_contain_text(feedback.text[:20])
    # No <script>, onerror or onload payload became an element.
    assert (
        page.evaluate("document.querySelectorAll('main img[src=x], main svg[onload]').length") == 0
    )
    page.problems.assert_none()
