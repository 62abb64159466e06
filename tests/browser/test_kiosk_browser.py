"""Kiosk mode in headless Chromium: answer while offline, sync when the network returns."""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError
from playwright.sync_api import expect

from conftest import wait_until
from feedback.tests.factories import UserFactory
from surveys.models import Response
from surveys.tests.factories import make_survey

from .conftest import DEFAULT_TIMEOUT_MS
from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def stored_count() -> int:
    """Responses in the database, or -1 while SQLite's shared test database is locked by
    the live server's write (it raises instead of waiting); PostgreSQL never does."""
    try:
        return Response.objects.count()
    except OperationalError:
        return -1


def answer(page, score: str, why: str | None = None) -> None:
    """Fill one response on the kiosk and send it; wait for the next blank form."""
    page.locator("#kq-nps label.kq-option", has_text=score).first.click()
    why_box = page.locator("#kq-why")
    if why is None:
        expect(why_box).to_be_hidden()
    else:
        # The follow-up question appears offline too: the logic runs in the page.
        expect(why_box).to_be_visible()
        why_box.locator("textarea").fill(why)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#kiosk-thanks")).to_be_visible()
    page.get_by_role("button", name="Next person").click()
    expect(page.locator("#kiosk-form")).to_be_visible()
    expect(page.locator("#kq-nps input:checked")).to_have_count(0)


def test_kiosk_keeps_answers_offline_and_syncs_each_once(page):
    UserFactory(username="sam", role="staff")
    survey = make_survey(title="Counter survey")
    log_in(page, "sam")
    page.goto(f"/surveys/{survey.pk}/kiosk/")
    expect(page.get_by_role("heading", name="Counter survey")).to_be_visible()
    expect(page.locator("#kiosk-collector")).to_have_text("sam")
    expect(page.locator("#kiosk-net")).to_have_text("Online")

    page.context.set_offline(True)
    expect(page.locator("#kiosk-net")).to_have_text("Offline")
    answer(page, "10")
    answer(page, "3", why="The queue at the counter was far too long")
    answer(page, "8")

    expect(page.locator("#kiosk-queue-count")).to_have_text("3")
    assert Response.objects.count() == 0
    queued = page.evaluate(f"localStorage.getItem('focusloop.kiosk.queue.{survey.pk}')")
    page.screenshot(path="/tmp/kiosk-offline.png", full_page=True)

    page.context.set_offline(False)

    # The page empties its queue once the server has answered the sync.
    expect(page.locator("#kiosk-queue-count")).to_have_text("0", timeout=20_000)
    assert wait_until(lambda: stored_count() == 3, timeout=20)
    expect(page.locator("#kiosk-net")).to_have_text("Online")
    stored = Response.objects.order_by("submitted_at")
    assert [r.answers.get(question__key="nps").number for r in stored] == [10, 3, 8]
    assert {(r.channel, r.collected_by.username) for r in stored} == {("kiosk", "sam")}
    assert stored[1].answers.get(question__key="why").text.startswith("The queue")

    # The answer to the first sync is lost (as if the network dropped again): the same
    # three responses go up once more. The server knows their client UUIDs.
    page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"focusloop.kiosk.queue.{survey.pk}", queued],
    )
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#kiosk-queue-count")).to_have_text("0")
    expect(page.locator("#kiosk-sync-status")).to_contain_text("Synced 3 responses")
    assert Response.objects.count() == 3
    expect(page.locator("#kiosk-refused")).to_be_hidden()
    page.problems.assert_none()


def test_kiosk_shows_responses_the_server_refused(page):
    from surveys import services

    UserFactory(username="sam", role="staff")
    survey = make_survey(title="Closing survey")
    log_in(page, "sam")
    page.goto(f"/surveys/{survey.pk}/kiosk/")
    page.context.set_offline(True)
    answer(page, "9")
    answer(page, "10")
    services.close_survey(survey=survey)  # closed while the tablet was offline

    page.context.set_offline(False)

    expect(page.locator("#kiosk-refused")).to_be_visible(timeout=15_000)
    expect(page.locator("#kiosk-refused-list li")).to_have_count(2)
    expect(page.locator("#kiosk-refused-list li").first).to_contain_text("the survey is closed")
    expect(page.locator("#kiosk-queue-count")).to_have_text("0")
    # The status line says how many were refused and why, not "Synced 0 responses".
    status = page.locator("#kiosk-sync-status")
    expect(status).to_contain_text("2 responses refused (the survey is closed), listed below")
    expect(status).not_to_contain_text("Synced")
    assert Response.objects.count() == 0
    page.problems.assert_none()


def test_kiosk_page_reloads_offline_from_its_service_worker(browser, live_server):
    """With service workers allowed (the other tests block them), the kiosk survives a
    reload without the network and still queues the response."""
    UserFactory(username="sam", role="staff")
    survey = make_survey(title="Reload survey")
    context = browser.new_context(base_url=live_server.url, service_workers="allow")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, "sam")
        page.goto(f"/surveys/{survey.pk}/kiosk/")
        # Wait until the worker controls the page and holds the page and its files.
        cached = """async () => {
            if (!navigator.serviceWorker.controller) { return false; }
            const cache = await caches.open('focusloop-kiosk-v1');
            const keys = (await cache.keys()).map((r) => new URL(r.url).pathname);
            return keys.includes(location.pathname) && keys.some((p) => p.endsWith('/kiosk.js'));
        }"""
        assert wait_until(lambda: page.evaluate(cached), timeout=15)
        context.set_offline(True)
        page.reload()
        expect(page.get_by_role("heading", name="Reload survey")).to_be_visible()
        expect(page.locator("#kiosk-net")).to_have_text("Offline")
        answer(page, "9")
        expect(page.locator("#kiosk-queue-count")).to_have_text("1")
        context.set_offline(False)
        expect(page.locator("#kiosk-queue-count")).to_have_text("0", timeout=20_000)
        assert wait_until(lambda: stored_count() == 1, timeout=20)
        assert errors == []
    finally:
        context.close()


def test_manager_invites_customers_and_shares_the_survey(page, monkeypatch, settings):
    from feedback.tests.factories import CustomerFactory
    from surveys.models import Invitation
    from surveys.tasks import send_invitations_task

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    queued: list[list[int]] = []
    # No broker here: the test runs the task itself, like a worker would.
    monkeypatch.setattr(
        send_invitations_task, "apply_async", lambda args, **kwargs: queued.append(args[0])
    )
    UserFactory(username="maria", role="manager")
    survey = make_survey(title="Renewal survey")
    CustomerFactory(name="Ann Premium", tier="premium", consent_research=True)
    CustomerFactory(name="Bob Premium", tier="premium", consent_research=False)
    CustomerFactory(name="Cem Free", tier="free", consent_research=True)
    log_in(page, "maria")

    page.goto(f"/surveys/{survey.pk}/invitations/")
    page.get_by_label("Tier").select_option("premium")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview count").click()
    expect(page.locator("#invite-preview")).to_contain_text("1 of 2 matching customers")
    expect(page.locator("#invite-preview")).to_contain_text("1 without consent")
    with page.expect_navigation():
        page.get_by_role("button", name="Send 1 invitation").click()
    expect(page.get_by_role("status").first).to_contain_text("1 invitation queued")

    (ids,) = queued
    send_invitations_task(ids)  # the worker
    page.reload()
    expect(page.locator("table.invitations tbody tr")).to_have_count(1)
    expect(page.locator("table.invitations tbody tr").first).to_contain_text("Ann Premium")
    expect(page.locator("table.invitations tbody tr").first).to_contain_text("Sent")
    expect(page.locator('[data-stat="delivered"]')).to_have_text("1")
    page.screenshot(path="/tmp/survey-invitations.png", full_page=True)
    assert Invitation.objects.get().status == "sent"

    page.get_by_role("link", name="Share: link, QR code, embed").click()
    expect(page.get_by_role("heading", name="Share “Renewal survey”")).to_be_visible()
    qr = page.get_by_role("img", name="QR code")
    expect(qr).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 100", arg=qr.element_handle()
    )
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    expect(page.get_by_label("Embed snippet")).to_have_value(
        re.compile(r'^<iframe src="http://localhost:\d+/s/[\w-]+/embed/"')
    )
    page.screenshot(path="/tmp/survey-share.png", full_page=True)
    page.problems.assert_none()
