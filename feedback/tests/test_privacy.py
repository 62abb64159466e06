"""Respondents see and erase their data through an emailed link; staff do it in the admin."""

import json
import time

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.urls import reverse

from customization.models import CustomerPreference
from feedback import privacy
from feedback.models import Customer, ErasureRecord, Feedback
from feedback.tests.factories import CustomerFactory, FeedbackFactory
from surveys import services as survey_services
from surveys.models import Answer
from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db

EMAIL = "Jane.Roe@Example.com"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the per-IP request counter lives in the cache (Redis when configured)


@pytest.fixture
def jane(db):
    customer = CustomerFactory(
        name="Jane Roe", email=EMAIL, account="Roe Ltd", consent_contact=True
    )
    FeedbackFactory(
        customer=customer,
        text="Jane Roe here: call me on +44 20 7946 0958 or jane.roe@example.com",
        rating=2,
    )
    FeedbackFactory(
        customer=None,
        submitter_name="Jane",
        submitter_email="jane.roe@example.com",
        consent=True,
        text="Anonymous form, signed Jane",
    )
    survey = make_survey()
    survey_services.submit_response(
        survey=survey,
        answers={"nps": 3, "why": "Jane Roe was charged twice, mail jane.roe@example.com"},
        channel="link",
        customer=customer,
    )
    CustomerPreference.objects.create(
        customer=customer, key="contact time", value="mornings", stated_on="2026-01-05"
    )
    return customer


def test_link_is_mailed_only_when_data_is_held_and_the_page_answers_the_same(client, jane):
    first = client.post(reverse("feedback:privacy_start"), {"email": "jane.roe@example.com"})
    second = client.post(reverse("feedback:privacy_start"), {"email": "nobody@example.com"})
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jane.roe@example.com"]
    assert "/privacy/" in mail.outbox[0].body


def test_bad_email_is_a_form_error(client):
    response = client.post(reverse("feedback:privacy_start"), {"email": "not an email"})
    assert response.status_code == 400
    assert "valid email" in response.content.decode()


def test_export_holds_everything_stored_about_the_person(client, jane):
    token = privacy.make_token(EMAIL)
    page = client.get(reverse("feedback:privacy_request", args=[token]))
    assert page.status_code == 200
    data = json.loads(client.get(reverse("feedback:privacy_export", args=[token, "json"])).content)
    assert [c["name"] for c in data["customers"]] == ["Jane Roe"]
    assert len(data["feedback"]) == 3  # the form, the own record, the survey comment
    assert data["survey_responses"][0]["answers"]["nps"] == 3
    assert data["preferences"][0]["value"] == "mornings"
    csv_text = client.get(reverse("feedback:privacy_export", args=[token, "csv"])).content.decode()
    assert csv_text.startswith("record,id,field,value")
    assert "mornings" in csv_text


def test_forged_or_expired_links_are_refused(client, jane, settings):
    assert client.get(reverse("feedback:privacy_request", args=["forged"])).status_code == 404
    settings.PRIVACY_LINK_HOURS = 0
    token = signing.dumps({"email": EMAIL.lower()}, salt=privacy.SIGNING_SALT)
    time.sleep(1.1)
    response = client.get(reverse("feedback:privacy_request", args=[token]))
    assert response.status_code == 404
    assert "expired" in response.content.decode()


def test_erasure_masks_personal_data_everywhere_and_keeps_aggregates(client, jane):
    token = privacy.make_token(EMAIL)
    feedback_before = Feedback.objects.count()
    refused = client.post(reverse("feedback:privacy_erase", args=[token]), {})
    assert refused.status_code == 400  # the confirmation box is required
    assert Customer.objects.get(pk=jane.pk).email == EMAIL

    done = client.post(reverse("feedback:privacy_erase", args=[token]), {"confirm": "on"})
    assert done.status_code == 200
    jane.refresh_from_db()
    assert jane.email == "" and jane.account == "" and "Jane" not in jane.name
    texts = list(Feedback.objects.values_list("text", flat=True))
    assert Feedback.objects.count() == feedback_before
    assert all("jane" not in t.lower() and "7946" not in t for t in texts)
    assert not Feedback.objects.exclude(submitter_email="").exists()
    answer = Answer.objects.get(question__key="why")
    assert "jane" not in answer.text.lower()
    assert Answer.objects.get(question__key="nps").number == 3  # the score stays
    assert Feedback.objects.filter(rating=2).exists()
    assert not CustomerPreference.objects.exists()
    record = ErasureRecord.objects.get()
    assert record.via == "link" and record.email_sha256 == privacy.email_digest(EMAIL)
    assert EMAIL.lower() not in json.dumps(record.counts)
    # A second visit finds nothing left to erase.
    page = client.get(reverse("feedback:privacy_request", args=[token]))
    assert "Erase my personal data" not in page.content.decode()


def test_staff_erase_from_the_admin(client, admin_user, jane):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:feedback_customer_changelist"),
        {"action": "erase_personal_data", "_selected_action": [jane.pk]},
        follow=True,
    )
    assert response.status_code == 200
    jane.refresh_from_db()
    assert jane.email == ""
    record = ErasureRecord.objects.get()
    assert record.via == "staff" and record.requested_by == admin_user


def test_privacy_requests_are_rate_limited(client, settings, jane):
    settings.PRIVACY_REQUEST_RATE = "2/h"
    codes = [
        client.post(reverse("feedback:privacy_start"), {"email": "x@example.com"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


# --- PII masking and retention ----------------------------------------------------------

CONTACT = "Terrible support, call me on +44 20 7946 0958 or write to jo@example.com"


def test_analysis_sees_masked_text_and_staff_keep_the_original(settings):
    from feedback.services import record_feedback
    from insights.services import analyse_all_pending

    settings.PII_MASKING = "analysis"
    feedback = record_feedback(channel="form", text=CONTACT)
    analyse_all_pending()
    feedback.refresh_from_db()
    assert feedback.text == CONTACT  # staff with access see what was written
    assert feedback.negative_excerpt
    assert "7946" not in feedback.negative_excerpt
    assert "jo@example.com" not in feedback.negative_excerpt


def test_store_mode_never_keeps_the_original(settings):
    from feedback.services import record_feedback

    settings.PII_MASKING = "store"
    feedback = record_feedback(channel="form", text=CONTACT)
    feedback.refresh_from_db()
    assert feedback.text == "Terrible support, call me on [phone] or write to [email]"


def test_survey_exports_mask_contact_details(jane, settings):
    from surveys.exports import cell_value

    settings.PII_MASKING = "analysis"
    answer = Answer.objects.select_related("question").get(question__key="why")
    assert "[email]" in cell_value(answer.question, answer)
    settings.PII_MASKING = "off"
    assert "jane.roe@example.com" in cell_value(answer.question, answer)


def test_retention_anonymises_only_feedback_past_the_period(settings, jane):
    import datetime as dt

    from django.utils import timezone

    from feedback.tasks import anonymise_expired_feedback_task

    settings.FEEDBACK_RETENTION_DAYS = 30
    now = timezone.now()
    old = FeedbackFactory(
        text="Old: ring 0612345678",
        submitter_name="Kim",
        submitter_email="kim@example.com",
        received_at=now - dt.timedelta(days=40),
        rating=4,
    )
    recent = FeedbackFactory(text="New: ring 0612345678", received_at=now - dt.timedelta(days=3))
    assert anonymise_expired_feedback_task.apply().get() >= 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.text == "Old: ring [phone]" and old.anonymised_at is not None
    assert old.submitter_name == old.submitter_email == ""
    assert old.rating == 4
    assert recent.text == "New: ring 0612345678" and recent.anonymised_at is None
    assert anonymise_expired_feedback_task.apply().get() == 0  # nothing left to do


def test_retention_off_by_default(settings):
    from feedback.privacy import anonymise_expired_feedback

    settings.FEEDBACK_RETENTION_DAYS = 0
    FeedbackFactory(text="call 0612345678")
    assert anonymise_expired_feedback() == 0
