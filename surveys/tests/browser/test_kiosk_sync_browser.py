"""The kiosk's sync status line in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback.tests.factories import UserFactory
from surveys import services
from surveys.models import Response
from surveys.tests.factories import make_survey
from tests.browser.test_kiosk_browser import answer
from tests.browser.test_pages_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_batch_refused_whole_says_how_many_and_why_instead_of_synced_0(page):
    UserFactory(username="sam", role="staff")
    survey = make_survey(title="Closing survey")
    log_in(page, "sam")
    page.goto(f"/surveys/{survey.pk}/kiosk/")
    page.context.set_offline(True)
    answer(page, "9")
    answer(page, "10")
    services.close_survey(survey=survey)  # closed while the tablet was offline

    page.context.set_offline(False)

    status = page.locator("#kiosk-sync-status")
    expect(status).to_contain_text(
        "2 responses refused (the survey is closed), listed below", timeout=15_000
    )
    expect(status).not_to_contain_text("Synced")
    expect(page.locator("#kiosk-refused-list li")).to_have_count(2)
    assert Response.objects.count() == 0
    page.problems.assert_none()
