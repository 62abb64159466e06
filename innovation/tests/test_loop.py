"""Closing the loop: one email per consenting customer and item, never twice."""

import datetime as dt
import smtplib
import threading
import time

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customization.models import CustomizationEvidence, CustomizationRequest
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory
from innovation import loop, roadmap, services
from innovation.models import Idea, LoopMessage
from innovation.tasks import close_the_loop_task

from .roadmap_data import idea

RELEASE_NOTE = "Checkout is now a single page, and saved cards work on mobile."


class SlowBackend(EmailBackend):
    """The local-memory outbox, slow enough that two runs overlap while sending."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


class FlakyBackend(EmailBackend):
    """Refuses mail to one address until ``FlakyBackend.refuse`` is cleared."""

    refuse: set[str] = set()

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & self.refuse:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (450, b"try later")})
        return super().send_messages(messages)


@pytest.fixture
def people(db):
    """Who is linked to the idea, and whether they should hear from us."""
    return {
        "consents": CustomerFactory(name="Ana", consent_contact=True),
        "ticked_the_box": CustomerFactory(name="Ben", consent_contact=False),
        "no_consent": CustomerFactory(name="Cy", consent_contact=False),
        "no_email": CustomerFactory(name="Dee", consent_contact=True, email=""),
        "voter": CustomerFactory(name="Eve", consent_contact=True),
        "silent_voter": CustomerFactory(name="Fay", consent_contact=False),
        "unrelated": CustomerFactory(name="Gus", consent_contact=True),
    }


@pytest.fixture
def shipped_idea(people, manager):
    said = {
        "consents": dict(text="Checkout takes three pages and my card is declined."),
        "ticked_the_box": dict(text="Paying on my phone is painful.", consent=True),
        "no_consent": dict(text="Checkout is slow."),
        "no_email": dict(text="Too many steps to pay."),
    }
    feedback = [FeedbackFactory(customer=people[who], **fields) for who, fields in said.items()]
    # A second piece from Ana: she is still told once.
    feedback.append(FeedbackFactory(customer=people["consents"], text="Still three pages!"))
    FeedbackFactory(customer=people["unrelated"], text="Love the new colours.")
    row = idea(manager, feedback_ids=[f.pk for f in feedback], product=ProductFactory(name="Shop"))
    services.record_vote(idea=row, customer=people["voter"], by=manager)
    services.record_vote(idea=row, customer=people["silent_voter"], by=manager)
    return roadmap.ship_idea(idea=row, release_note=RELEASE_NOTE, by=manager)


def _recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_every_consenting_customer_gets_one_email_and_nobody_else(shipped_idea, people):
    sent = loop.close_the_loop(idea=shipped_idea)

    expected = sorted(people[who].email for who in ("consents", "ticked_the_box", "voter"))
    assert _recipients() == expected
    assert sorted(m.email for m in sent) == expected
    assert LoopMessage.objects.filter(idea=shipped_idea).count() == 3


def test_a_second_run_sends_nothing(shipped_idea):
    assert len(loop.close_the_loop(idea=shipped_idea)) == 3
    assert close_the_loop_task(idea_id=shipped_idea.pk) == 0
    assert len(mail.outbox) == 3


def test_the_email_says_what_changed_and_what_they_said(shipped_idea, people):
    loop.close_the_loop(idea=shipped_idea)
    message = next(m for m in mail.outbox if m.to == [people["consents"].email])

    assert message.subject == "Now available: One-page checkout"
    assert RELEASE_NOTE in message.body
    assert "Checkout takes three pages and my card is declined." in message.body
    assert "Still three pages!" in message.body
    assert "Paying on my phone" not in message.body  # someone else's words
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and RELEASE_NOTE in html and "Hello Ana" in html


def test_the_html_email_escapes_what_customers_wrote(manager):
    customer = CustomerFactory(name="<i>Ana</i>", consent_contact=True)
    feedback = FeedbackFactory(customer=customer, text="<script>alert(1)</script>")
    row = idea(manager, feedback_ids=[feedback.pk])
    row = roadmap.ship_idea(idea=row, release_note="<b>new</b> checkout", by=manager)

    loop.close_the_loop(idea=row)

    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>new</b>" not in html and "<i>Ana</i>" not in html


def test_a_title_with_line_breaks_still_reaches_everyone_on_one_subject_line(manager, people):
    # The API keeps a title's inner line breaks; a mail header may not hold them.
    feedback = [
        FeedbackFactory(customer=people["consents"]),
        FeedbackFactory(customer=people["voter"]),
    ]
    row = idea(
        manager, title="One-page\r\ncheckout\rand\u2028cards", feedback_ids=[f.pk for f in feedback]
    )
    row = roadmap.ship_idea(idea=row, release_note=RELEASE_NOTE, by=manager)

    sent = loop.close_the_loop(idea=row)

    assert len(sent) == 2 and len(mail.outbox) == 2
    assert {m.subject for m in mail.outbox} == {"Now available: One-page checkout and cards"}
    assert LoopMessage.objects.filter(idea=row).count() == 2


def test_an_idea_that_has_not_shipped_announces_nothing(manager, people):
    feedback = FeedbackFactory(customer=people["consents"])
    row = idea(manager, feedback_ids=[feedback.pk])
    assert loop.close_the_loop(idea=row) == []
    assert mail.outbox == []


def test_exactly_one_item_must_be_given():
    with pytest.raises(ValueError, match="exactly one"):
        loop.close_the_loop()


def test_shipping_queues_the_messages_after_the_commit(
    people, manager, django_capture_on_commit_callbacks, monkeypatch
):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    feedback = FeedbackFactory(customer=people["consents"], text="Make checkout shorter")
    row = idea(manager, feedback_ids=[feedback.pk])

    with django_capture_on_commit_callbacks(execute=True):
        roadmap.ship_idea(idea=row, release_note=RELEASE_NOTE, by=manager)

    assert _recipients() == [people["consents"].email]
    assert LoopMessage.objects.get().subject == "Now available: One-page checkout"


def test_a_refused_address_is_retried_later_without_repeating_the_others(
    shipped_idea, people, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.refuse = {people["voter"].email}

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        loop.close_the_loop(idea=shipped_idea)
    assert len(mail.outbox) == 2
    assert not LoopMessage.objects.filter(customer=people["voter"]).exists()

    FlakyBackend.refuse = set()
    again = loop.close_the_loop(idea=shipped_idea)
    assert [m.customer for m in again] == [people["voter"]]
    assert len(mail.outbox) == 3


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_email_once(postgres_required, settings):
    """Two workers on the same idea at the same moment (PostgreSQL row locks)."""
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    customers = [CustomerFactory(consent_contact=True) for _ in range(4)]
    feedback = [FeedbackFactory(customer=c) for c in customers]
    row = Idea.objects.create(
        title="Dark mode", problem="Too bright", status=Idea.Status.SHIPPED,
        shipped_at=timezone.now(), release_note="Dark mode is here.",
    )  # fmt: skip
    row.evidence.create(feedback=feedback[0])
    for f in feedback[1:]:
        row.evidence.create(feedback=f)
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(len(loop.close_the_loop(idea=Idea.objects.get(pk=row.pk))))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sum(results) == 4
    assert len(mail.outbox) == 4
    assert sorted(_recipients()) == sorted(c.email for c in customers)
    assert LoopMessage.objects.count() == 4


# --- Customization requests ---------------------------------------------------------------


@pytest.fixture
def delivered(db):
    owner = CustomerFactory(name="Acme buyer", consent_contact=True)
    colleague = CustomerFactory(name="Acme user", consent_contact=False)
    shy = CustomerFactory(name="Acme other", consent_contact=False)
    request = CustomizationRequest.objects.create(
        title="Invoices in Portuguese", customer=owner, status="delivered",
        delivery_note="Invoices now come in Portuguese.", delivered_at=timezone.now(),
    )  # fmt: skip
    for customer, consent in ((colleague, True), (shy, False), (owner, False)):
        CustomizationEvidence.objects.create(
            request=request,
            feedback=FeedbackFactory(customer=customer, consent=consent, text="Need PT invoices"),
        )
    return request, owner, colleague, shy


def test_a_delivered_customization_tells_its_customer_and_consenting_evidence(delivered):
    request, owner, colleague, shy = delivered

    assert close_the_loop_task(customization_request_id=request.pk) == 2
    assert close_the_loop_task(customization_request_id=request.pk) == 0

    assert _recipients() == sorted([owner.email, colleague.email])
    message = mail.outbox[0]
    assert message.subject == "Delivered: Invoices in Portuguese"
    assert "Invoices now come in Portuguese." in message.body
    assert "Need PT invoices" in message.body
    assert set(LoopMessage.objects.values_list("customization_request", flat=True)) == {request.pk}


def test_a_request_page_counts_everyone_told_beyond_the_listed_ones(
    delivered, client, manager, monkeypatch
):
    from customization import views

    request = delivered[0]
    assert close_the_loop_task(customization_request_id=request.pk) == 2
    monkeypatch.setattr(views, "LOOP_MESSAGES_SHOWN", 1)
    client.force_login(manager)
    body = client.get(reverse("customization:request_detail", args=[request.pk])).content
    assert 'Customers told <small class="count">2</small>' in body.decode()
    assert "The latest 1 are listed." in body.decode()


def test_a_request_not_delivered_yet_announces_nothing(delivered):
    request = delivered[0]
    CustomizationRequest.objects.filter(pk=request.pk).update(status="delivering")
    assert close_the_loop_task(customization_request_id=request.pk) == 0
    assert close_the_loop_task(customization_request_id=999_999) == 0
    assert mail.outbox == []


def test_the_item_page_lists_who_was_told(shipped_idea, people, client, staff_member):
    loop.close_the_loop(idea=shipped_idea)
    client.force_login(staff_member)

    body = client.get(reverse("innovation:roadmap_item", args=[shipped_idea.pk])).content.decode()

    assert "Customers told" in body
    for who in ("consents", "ticked_the_box", "voter"):
        assert people[who].email in body
    for who in ("no_consent", "silent_voter", "unrelated"):
        assert people[who].email not in body


def test_item_pages_count_everyone_told_even_beyond_the_listed_ones(
    shipped_idea, client, staff_member, monkeypatch
):
    from innovation import roadmap_views, views

    loop.close_the_loop(idea=shipped_idea)
    monkeypatch.setattr(views, "LOOP_MESSAGES_SHOWN", 2)
    monkeypatch.setattr(roadmap_views, "LOOP_MESSAGES_SHOWN", 2)
    client.force_login(staff_member)
    for page in ("innovation:roadmap_item", "innovation:idea_detail"):
        body = client.get(reverse(page, args=[shipped_idea.pk])).content.decode()
        assert 'Customers told <small class="count">3</small>' in body, page
        assert "The latest 2 are listed." in body


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_tells_the_customers_after_the_ship_commits(celery_worker):
    from conftest import wait_until
    from feedback.tests.factories import UserFactory

    boss = UserFactory(username="boss", role="manager")
    customer = CustomerFactory(consent_contact=True)
    row = idea(boss, feedback_ids=[FeedbackFactory(customer=customer).pk])

    roadmap.ship_idea(idea=row, release_note=RELEASE_NOTE, by=boss)

    assert wait_until(lambda: LoopMessage.objects.filter(idea=row).exists())
    assert wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == [customer.email]


def test_the_daily_safety_net_sends_only_what_is_missing(shipped_idea, delivered, manager):
    from innovation.tasks import close_recent_loops_task

    old = idea(manager, title="Old", feedback_ids=[FeedbackFactory(customer=CustomerFactory(
        consent_contact=True)).pk])  # fmt: skip
    Idea.objects.filter(pk=old.pk).update(
        status="shipped", shipped_at=timezone.now() - dt.timedelta(days=30)
    )
    loop.close_the_loop(idea=shipped_idea)  # its task ran; the request's message was lost
    assert len(mail.outbox) == 3

    assert close_recent_loops_task() == 2  # the delivered request's two customers
    assert close_recent_loops_task() == 0
    assert len(mail.outbox) == 5
    assert not LoopMessage.objects.filter(idea=old).exists()
