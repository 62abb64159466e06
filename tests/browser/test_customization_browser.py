"""The customization backlog, driven in headless Chromium: a manager defines a rule
segment, sees its members, turns a feedback into a request and moves it along."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customization.models import CustomizationRequest, Segment
from feedback.tests.factories import CustomerFactory, FeedbackFactory, UserFactory

from .test_pages_browser import log_in

pytestmark = pytest.mark.browser


def test_manager_defines_a_segment_and_moves_a_request_from_feedback_to_accepted(page):
    UserFactory(username="maria", role="manager")
    acme = CustomerFactory(
        name="Acme <Ltd>",
        tier="enterprise",
        annual_value=Decimal(120_000),
        attributes={"region": "EMEA"},
    )
    CustomerFactory(name="Bolt", tier="premium", attributes={"region": "EMEA"})
    CustomerFactory(name="Cora", tier="enterprise", attributes={"region": "APAC"})
    feedback = FeedbackFactory(
        customer=acme, text="We need our invoices exported to SAP every night."
    )
    log_in(page, "maria")

    page.goto("/segments/new/")
    page.get_by_label("Segment name").fill("EMEA enterprise")
    # The builder shows one empty condition at a time; the attribute name only for attributes.
    expect(page.locator("[data-rule-row]:visible")).to_have_count(1)
    page.locator("#id_rules-0-field").select_option("attribute")
    expect(page.locator("#id_rules-0-key")).to_be_visible()
    page.locator("#id_rules-0-key").fill("region")
    page.locator("#id_rules-0-op").select_option("eq")
    page.locator("#id_rules-0-value").fill("EMEA")
    page.get_by_role("button", name="Add a condition").click()
    page.locator("#id_rules-1-field").select_option("tier")
    expect(page.locator("#id_rules-1-key")).to_be_hidden()
    page.locator("#id_rules-1-op").select_option("eq")
    page.locator("#id_rules-1-value").fill("enterprise")
    page.get_by_role("button", name="Save segment").click()

    expect(page.get_by_role("heading", name="EMEA enterprise")).to_be_visible()
    members = page.locator("#segment-members tbody tr")
    expect(members).to_have_count(1)
    expect(members.first).to_contain_text("Acme <Ltd>")
    expect(page.locator(".rules")).to_contain_text("Attribute “region” is EMEA")
    assert Segment.objects.get(name="EMEA enterprise").member_count == 1

    page.goto(f"/inbox/{feedback.pk}/")
    page.get_by_role("button", name="Create a customization request for Acme <Ltd>").click()
    expect(
        page.get_by_role("heading", name="We need our invoices exported to SAP every night.")
    ).to_be_visible()
    expect(page.locator(".evidence-list")).to_contain_text(f"#{feedback.pk}")
    expect(page.locator(".facts")).to_contain_text("120,000")

    for status in ("Assessed", "Accepted"):
        page.get_by_label("Move to").select_option(label=status)
        page.get_by_role("button", name="Change status").click()
        expect(page.locator("h1 .status")).to_have_text(status)
    expect(page.locator(".history li")).to_have_count(3)
    request = CustomizationRequest.objects.get()
    assert request.status == "accepted" and request.customer == acme

    page.goto("/customizations/")
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    page.screenshot(path="/tmp/customization-backlog.png", full_page=True)
    page.problems.assert_none()
