"""Email invitations: one-time tokens, consent, reminders, status, the invitations page."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import smtplib

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from conftest import wait_until
from customization.models import Segment
from feedback.tests.factories import FeedbackFactory
from surveys import distribution
from surveys.models import Invitation, Response
from surveys.tasks import send_invitations_task, send_reminders_task
from surveys.tests.factories import CustomerFactory, ProductFactory, make_survey

pytestmark = pytest.mark.django_db

BASE = "https://feedback.example.com"
LINK = re.compile(re.escape(BASE) + r"/s/[\w-]+/i/([A-Za-z0-9_-]{43})/")


class FailingSMTPBackend(BaseEmailBackend):
    """The mail transport of an SMTP server that refuses every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    cache.clear()  # the per-IP rate limit of public survey pages
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = BASE + "/"


@pytest.fixture
def eager_tasks():
    """Run the tasks enqueued after commit in the test's own thread (no broker)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def survey():
    return make_survey(title="Delivery survey")


def customer(**kwargs):
    kwargs.setdefault("consent_research", True)
    return CustomerFactory(**kwargs)


def invite(survey, customers, django_capture_on_commit_callbacks, sent_by=None):
    with django_capture_on_commit_callbacks(execute=True):
        return distribution.invite_customers(survey=survey, customers=customers, sent_by=sent_by)


def token_from(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def answer_url(survey, token):
    return reverse("surveys:invitation_answer", args=[survey.slug, token])


# --- inviting --------------------------------------------------------------------------


def test_invite_skips_already_invited_customers_without_email_or_consent(
    survey, eager_tasks, django_capture_on_commit_callbacks
):
    ann = customer(name="Ann")
    already = customer(name="Bob")
    no_email = customer(name="Cem", email="")
    no_consent = customer(name="Dee", consent_research=False, consent_contact=True)
    invite(survey, [already], django_capture_on_commit_callbacks)
    mail.outbox.clear()

    report = invite(
        survey, [ann, already, no_email, no_consent], django_capture_on_commit_callbacks
    )

    assert (report.selected, report.invited, report.already_invited) == (4, 1, 1)
    assert (report.no_email, report.no_consent) == (1, 1)
    assert [m.to for m in mail.outbox] == [[ann.email]]
    assert set(Invitation.objects.values_list("customer__name", flat=True)) == {"Ann", "Bob"}


def test_email_link_opens_the_survey_and_the_answer_is_linked_to_the_customer(
    client, survey, eager_tasks, django_capture_on_commit_callbacks
):
    ann = customer(name="Ann Smith")
    invite(survey, [ann], django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.subject == "Delivery survey: we would value your view"
    assert "Hello Ann Smith" in message.body
    token = token_from(message)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{BASE}{answer_url(survey, token)}"' in html
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.sent_at is not None) == ("sent", True)
    # Only the digest is stored, never the token itself.
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())

    page = client.get(answer_url(survey, token))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    invitation.refresh_from_db()
    assert invitation.status == "opened" and invitation.opened_at is not None

    posted = client.post(answer_url(survey, token), {"q_nps": "9"})
    assert posted.status_code == 302
    response = Response.objects.get()
    assert (response.channel, response.customer, response.invitation) == ("email", ann, invitation)
    invitation.refresh_from_db()
    assert invitation.status == "answered" and invitation.answered_at is not None


def test_a_token_works_once(client, survey, eager_tasks, django_capture_on_commit_callbacks):
    invite(survey, [customer()], django_capture_on_commit_callbacks)
    token = token_from(mail.outbox[0])
    assert client.post(answer_url(survey, token), {"q_nps": "10"}).status_code == 302

    again = client.post(answer_url(survey, token), {"q_nps": "3", "q_why": "changed my mind"})
    revisit = client.get(answer_url(survey, token))

    assert again.status_code == 410 and revisit.status_code == 410
    assert "already answered" in again.content.decode()
    assert Response.objects.count() == 1
    assert Response.objects.get().answers.get().number == 10


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well-formed, unknown
        "short",
        "x" * 200,
        "abc%2F..%2F..",
    ],
)
def test_forged_tokens_get_a_404_page_and_store_nothing(client, survey, token):
    assert client.get(answer_url(survey, token)).status_code == 404
    posted = client.post(answer_url(survey, token), {"q_nps": "9"})
    assert posted.status_code == 404
    assert "not valid" in posted.content.decode()
    assert Response.objects.count() == 0


def test_a_token_of_another_survey_is_refused(
    client, survey, eager_tasks, django_capture_on_commit_callbacks
):
    other = make_survey(title="Other survey")
    invite(other, [customer()], django_capture_on_commit_callbacks)
    token = token_from(mail.outbox[0])

    posted = client.post(answer_url(survey, token), {"q_nps": "9"})

    assert posted.status_code == 404
    assert Response.objects.count() == 0
    assert Invitation.objects.get().status == "sent"


def test_an_expired_token_is_refused(
    client, survey, eager_tasks, django_capture_on_commit_callbacks
):
    invite(survey, [customer()], django_capture_on_commit_callbacks)
    token = token_from(mail.outbox[0])
    Invitation.objects.update(token_expires_at=timezone.now() - dt.timedelta(seconds=1))

    posted = client.post(answer_url(survey, token), {"q_nps": "9"})

    assert posted.status_code == 410 and "expired" in posted.content.decode()
    assert Response.objects.count() == 0


def test_invalid_answers_keep_the_invitation_usable(
    client, survey, eager_tasks, django_capture_on_commit_callbacks
):
    invite(survey, [customer()], django_capture_on_commit_callbacks)
    token = token_from(mail.outbox[0])

    bad = client.post(answer_url(survey, token), {"q_nps": "11"})

    assert bad.status_code == 400
    assert Response.objects.count() == 0
    assert client.post(answer_url(survey, token), {"q_nps": "8"}).status_code == 302


def test_closed_survey_takes_no_invitations_and_its_links_say_closed(
    client, survey, eager_tasks, django_capture_on_commit_callbacks
):
    from surveys import services

    invite(survey, [customer()], django_capture_on_commit_callbacks)
    token = token_from(mail.outbox[0])
    services.close_survey(survey=survey)
    survey.refresh_from_db()

    with pytest.raises(ValidationError):
        distribution.invite_customers(survey=survey, customers=[customer()])
    posted = client.post(answer_url(survey, token), {"q_nps": "9"})
    assert posted.status_code == 410
    assert Response.objects.count() == 0


# --- sending ---------------------------------------------------------------------------


def test_sending_twice_sends_one_email(survey, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        report = distribution.invite_customers(survey=survey, customers=[customer()])
    (pk,) = report.invitation_ids
    assert Invitation.objects.get().status == "pending"

    assert distribution.send_invitation(invitation_id=pk) == distribution.SENT
    assert distribution.send_invitation(invitation_id=pk) == distribution.SKIPPED
    send_invitations_task.apply(args=[[pk]])  # a redelivered message

    assert len(mail.outbox) == 1


def test_transport_failure_is_recorded_and_a_later_send_succeeds(
    settings, survey, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        (pk,) = distribution.invite_customers(survey=survey, customers=[customer()]).invitation_ids
    settings.EMAIL_BACKEND = f"{__name__}.FailingSMTPBackend"

    assert distribution.send_invitation(invitation_id=pk) == distribution.FAILED
    failed = Invitation.objects.get()
    assert failed.status == "failed"
    assert "SMTPServerDisconnected" in failed.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert distribution.resend_failed(survey=survey) == 1
    assert len(callbacks) == 1
    assert distribution.send_invitation(invitation_id=pk) == distribution.SENT
    sent = Invitation.objects.get()
    assert (sent.status, sent.last_error, sent.send_attempts) == ("sent", "", 2)
    assert len(mail.outbox) == 1


def test_task_retries_only_the_invitations_whose_transport_failed(
    settings, survey, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        ids = distribution.invite_customers(
            survey=survey, customers=[customer(), customer()]
        ).invitation_ids
    settings.EMAIL_BACKEND = f"{__name__}.FailingSMTPBackend"
    # Eager apply: each retry runs at once, until the retries run out.
    send_invitations_task.apply(args=[ids])
    assert set(Invitation.objects.values_list("status", "send_attempts")) == {("failed", 6)}


def test_an_invitation_is_not_sent_again_once_consent_was_withdrawn(
    settings, survey, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        report = distribution.invite_customers(survey=survey, customers=[customer(), customer()])
    settings.EMAIL_BACKEND = f"{__name__}.FailingSMTPBackend"
    for pk in report.invitation_ids:
        distribution.send_invitation(invitation_id=pk)
    withdrew, still_willing = Invitation.objects.order_by("pk")
    withdrew.customer.consent_research = False
    withdrew.customer.save(update_fields=["consent_research"])

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=False):
        assert distribution.resend_failed(survey=survey) == 1
    for pk in report.invitation_ids:  # as a message queued before the withdrawal would
        distribution.send_invitation(invitation_id=pk)

    assert [m.to for m in mail.outbox] == [[still_willing.email]]
    withdrew.refresh_from_db()
    assert withdrew.status == "failed" and "withdrew their consent" in withdrew.last_error


def test_the_sweep_queues_again_invitations_whose_message_was_lost(
    survey, django_capture_on_commit_callbacks
):
    closed = make_survey(title="Closed one", status="closed")
    with django_capture_on_commit_callbacks(execute=False):
        (lost,) = distribution.invite_customers(
            survey=survey, customers=[customer()]
        ).invitation_ids
        distribution.invite_customers(survey=survey, customers=[customer()])  # just created
    Invitation.objects.create(
        survey=closed, customer=customer(), email="x@example.com", token_digest="f" * 64
    )
    Invitation.objects.exclude(survey=survey, pk__gt=lost).update(
        created_at=timezone.now() - dt.timedelta(minutes=30)
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert distribution.requeue_stale_pending() == 1
    assert len(callbacks) == 1


# --- reminders -------------------------------------------------------------------------


def _sent(survey, days_ago, **fields):
    sent_at = timezone.now() - dt.timedelta(days=days_ago)
    with_token = customer()
    invitation = Invitation.objects.create(
        survey=survey,
        customer=with_token,
        email=with_token.email,
        token_digest=distribution.new_token()[1],
        status=fields.pop("status", "sent"),
        sent_at=sent_at,
        **fields,
    )
    return invitation


def test_reminders_go_only_to_customers_who_have_not_answered(
    settings, survey, eager_tasks, django_capture_on_commit_callbacks
):
    settings.SURVEY_REMINDER_MIN_DAYS = 3
    settings.SURVEY_REMINDER_MAX = 2
    due_sent = _sent(survey, 5)
    due_opened = _sent(survey, 4, status="opened", opened_at=timezone.now())
    _sent(survey, 5, status="answered", answered_at=timezone.now())
    _sent(survey, 1)  # emailed too recently
    _sent(survey, 10, reminders_sent=2, reminded_at=timezone.now() - dt.timedelta(days=5))
    _sent(survey, 10, status="failed")

    with django_capture_on_commit_callbacks(execute=True):
        assert distribution.send_reminders(survey=survey) == 2

    assert sorted(m.to[0] for m in mail.outbox) == sorted([due_sent.email, due_opened.email])
    assert all(m.subject == "Reminder: Delivery survey" for m in mail.outbox)
    due_opened.refresh_from_db()
    assert (due_opened.status, due_opened.reminders_sent) == ("opened", 1)
    # Right after a reminder nobody is due again.
    assert distribution.reminders_due(survey).count() == 0


def test_no_reminder_goes_to_customers_who_withdrew_consent_or_were_erased(
    survey, django_capture_on_commit_callbacks
):
    from feedback import privacy

    still_willing = _sent(survey, 5)
    withdrew = _sent(survey, 5)
    withdrew.customer.consent_research = False
    withdrew.customer.save(update_fields=["consent_research"])
    erased = _sent(survey, 5)
    privacy.erase_personal_data(email=erased.email, via="staff")
    queued_before_withdrawal = _sent(survey, 5)

    with django_capture_on_commit_callbacks(execute=False):
        assert distribution.send_reminders(survey=survey) == 2
    queued_before_withdrawal.customer.consent_research = False
    queued_before_withdrawal.customer.save(update_fields=["consent_research"])
    distribution.send_reminder(invitation_id=still_willing.pk, reminders_sent=0)
    skipped = distribution.send_reminder(
        invitation_id=queued_before_withdrawal.pk, reminders_sent=0
    )

    assert skipped == "skipped"
    assert [m.to for m in mail.outbox] == [[still_willing.email]]


def test_a_reminder_goes_to_the_address_the_customer_has_now(survey):
    invitation = _sent(survey, 5)
    invitation.customer.email = "new.address@example.com"
    invitation.customer.save(update_fields=["email"])

    assert distribution.send_reminder(invitation_id=invitation.pk, reminders_sent=0) == "sent"

    assert [m.to for m in mail.outbox] == [["new.address@example.com"]]
    invitation.refresh_from_db()
    assert invitation.email == "new.address@example.com"


def test_a_repeated_reminder_task_sends_once_and_both_links_work(
    client, survey, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        (pk,) = distribution.invite_customers(survey=survey, customers=[customer()]).invitation_ids
    distribution.send_invitation(invitation_id=pk)
    first_token = token_from(mail.outbox[0])

    send_reminders_task.apply(args=[[[pk, 0]]])
    send_reminders_task.apply(args=[[[pk, 0]]])  # the same message delivered again

    assert len(mail.outbox) == 2
    reminder_token = token_from(mail.outbox[1])
    assert reminder_token != first_token
    assert Invitation.objects.get().reminders_sent == 1
    assert client.get(answer_url(survey, first_token)).status_code == 200
    assert client.get(answer_url(survey, reminder_token)).status_code == 200
    assert client.post(answer_url(survey, first_token), {"q_nps": "9"}).status_code == 302
    assert client.get(answer_url(survey, reminder_token)).status_code == 410


def test_an_answer_after_queueing_cancels_the_reminder(survey, django_capture_on_commit_callbacks):
    invitation = _sent(survey, 5)
    Invitation.objects.filter(pk=invitation.pk).update(status="answered")

    assert distribution.send_reminder(invitation_id=invitation.pk, reminders_sent=0) == "skipped"
    assert mail.outbox == []


# --- choosing customers ----------------------------------------------------------------


def test_customers_are_chosen_by_details_product_segment_and_pasted_addresses():
    app = ProductFactory(name="App", slug="app")
    ann = customer(name="Ann", email="Ann@Example.com", tier="premium", account="Acme Ltd")
    bob = customer(name="Bob", tier="premium", account="Other")
    cem = customer(name="Cem", internal=True, department="Finance")
    FeedbackFactory(customer=bob, product=app)
    FeedbackFactory(customer=bob, product=app)
    segment = Segment.objects.create(name="Beta testers")
    segment.customers.add(ann, cem)

    def names(**filters):
        found, unknown = distribution.select_customers(distribution.Audience(**filters))
        return [c.name for c in found], unknown

    assert names(tier="premium") == (["Ann", "Bob"], [])
    assert names(tier="premium", account="acme") == (["Ann"], [])
    assert names(kind="internal", department="finance") == (["Cem"], [])
    assert names(product=app) == (["Bob"], [])
    assert names(segment=segment) == (["Ann", "Cem"], [])
    assert names(emails=["ann@example.com", "nobody@example.com"]) == (
        ["Ann"],
        ["nobody@example.com"],
    )
    assert names() == ([], [])


def test_pasted_addresses_are_split_and_checked():
    valid, invalid = distribution.parse_email_list(
        "ann@example.com, bob@example.com;\nANN@example.com <cem@example.com> not-an-email"
    )
    assert valid == ["ann@example.com", "bob@example.com", "cem@example.com"]
    assert invalid == ["not-an-email"]


# --- the invitations page --------------------------------------------------------------


def page_url(survey):
    return reverse("surveys:invitations", args=[survey.pk])


def test_invitations_page_roles(client, survey, staff_member, manager, outsider):
    url = page_url(survey)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(staff_member)
    staff_page = client.get(url)
    assert staff_page.status_code == 200
    assert "Invite customers" not in staff_page.content.decode()
    assert client.post(url, {"action": "preview", "tier": "premium"}).status_code == 403
    assert client.post(url, {"action": "remind"}).status_code == 403
    client.force_login(manager)
    assert "Invite customers" in client.get(url).content.decode()


def test_manager_previews_then_sends_and_sees_the_status(
    client, manager, survey, eager_tasks, django_capture_on_commit_callbacks
):
    customer(name="Ann", tier="premium")
    customer(name="Bob", tier="premium", consent_research=False)
    customer(name="Cem", tier="free")
    client.force_login(manager)

    preview = client.post(page_url(survey), {"action": "preview", "tier": "premium"})
    assert preview.status_code == 200
    assert preview.context["report"].invited == 1
    assert preview.context["report"].no_consent == 1
    assert Invitation.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(page_url(survey), {"action": "send", "tier": "premium"})
    assert posted.status_code == 302
    sent = client.get(posted["Location"])
    assert "1 invitation queued" in sent.content.decode()
    assert len(mail.outbox) == 1
    stats = sent.context["stats"]
    assert (stats.total, stats.delivered, stats.answered, stats.response_rate) == (1, 1, 0, 0)
    assert Invitation.objects.get().sent_by == manager


def test_only_segments_in_use_are_offered_and_accepted_as_an_audience(client, manager, survey):
    members = customer(name="Ann")
    live = Segment.objects.create(name="Beta testers")
    pending = Segment.objects.create(name="Suggested: Free", status=Segment.Status.SUGGESTED)
    discarded = Segment.objects.create(name="Old cluster", status=Segment.Status.DISCARDED)
    for segment in (live, pending, discarded):
        segment.customers.add(members)
    client.force_login(manager)

    offered = client.get(page_url(survey)).context["form"].fields["segment"].queryset
    assert list(offered) == [live]
    for segment in (pending, discarded):
        refused = client.post(page_url(survey), {"action": "preview", "segment": segment.pk})
        assert refused.context["form"].errors["segment"]
        assert refused.context["report"] is None
    assert Invitation.objects.count() == 0


def test_manager_sends_reminders_and_failed_invitations_again_from_the_page(
    client, manager, survey, eager_tasks, django_capture_on_commit_callbacks
):
    due = _sent(survey, 5)
    failed = _sent(survey, 5, status="failed", last_error="SMTPServerDisconnected: gone")
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        reminded = client.post(page_url(survey), {"action": "remind"})
    assert reminded.status_code == 302
    assert "1 reminder queued" in client.get(page_url(survey)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_url(survey), {"action": "resend"})

    due.refresh_from_db()
    failed.refresh_from_db()
    assert due.reminders_sent == 1
    assert (failed.status, failed.last_error) == ("sent", "")
    assert sorted(m.subject for m in mail.outbox) == [
        "Delivery survey: we would value your view",
        "Reminder: Delivery survey",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_url(survey), {"action": "remind"})
    assert "No invitation is due a reminder" in client.get(page_url(survey)).content.decode()


def test_an_empty_audience_or_bad_addresses_are_form_errors(client, manager, survey):
    client.force_login(manager)
    empty = client.post(page_url(survey), {"action": "preview"})
    bad = client.post(page_url(survey), {"action": "send", "emails": "ann@example.com, nope"})
    assert empty.status_code == 400 and "Choose at least one filter" in empty.content.decode()
    assert bad.status_code == 400 and "Not valid email addresses: nope" in bad.content.decode()
    assert Invitation.objects.count() == 0


def test_response_rate_counts_answered_among_delivered(client, staff_member, survey):
    _sent(survey, 1)
    _sent(survey, 1, status="opened")
    _sent(survey, 1, status="answered")
    _sent(survey, 1, status="answered")
    _sent(survey, 1, status="failed")
    client.force_login(staff_member)
    page = client.get(page_url(survey))
    stats = page.context["stats"]
    assert (stats.delivered, stats.answered, stats.response_rate) == (4, 2, 0.5)
    assert 'data-stat="response_rate">50%' in page.content.decode()
    filtered = client.get(page_url(survey), {"status": "failed"})
    assert len(filtered.context["page"].object_list) == 1


def test_invitations_list_runs_a_fixed_number_of_queries(
    client, staff_member, survey, django_assert_max_num_queries
):
    for _ in range(12):
        _sent(survey, 1)
    client.force_login(staff_member)
    client.get(page_url(survey))  # warm the session and permission caches
    with django_assert_max_num_queries(14):
        client.get(page_url(survey))


# --- on a real worker ------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_sends_the_invitations_queued_by_the_page(client, celery_worker):
    from feedback.tests.factories import UserFactory

    survey = make_survey(title="Worker survey")
    ann = customer(name="Ann", tier="enterprise")
    client.force_login(UserFactory(username="maria", role="manager"))

    client.post(page_url(survey), {"action": "send", "tier": "enterprise"})

    assert wait_until(lambda: Invitation.objects.filter(status="sent").exists())
    assert [m.to for m in mail.outbox] == [[ann.email]]
    token = token_from(mail.outbox[0])
    assert client.get(answer_url(survey, token)).status_code == 200


def test_a_survey_at_its_quota_takes_no_invitations_or_reminders(
    eager_tasks, django_capture_on_commit_callbacks
):
    from surveys import services

    survey = make_survey(title="Small survey", response_quota=1)
    invite(survey, [customer()], django_capture_on_commit_callbacks)
    services.submit_response(survey=survey, answers={"nps": 9}, channel="link")
    mail.outbox.clear()
    for send in (
        lambda: distribution.invite_customers(survey=survey, customers=[customer()]),
        lambda: distribution.send_reminders(survey=survey),
        lambda: distribution.resend_failed(survey=survey),
    ):
        with pytest.raises(ValidationError) as exc:
            send()
        assert exc.value.code == "quota"
        assert "received all the responses its quota allows" in exc.value.messages[0]
    assert Invitation.objects.count() == 1 and mail.outbox == []


def test_an_invitation_link_to_a_survey_at_its_quota_says_so_before_the_form(
    client, eager_tasks, django_capture_on_commit_callbacks
):
    from surveys import services

    survey = make_survey(title="Small survey", response_quota=1)
    invite(survey, [customer()], django_capture_on_commit_callbacks)
    token = token_from(mail.outbox[0])
    services.submit_response(survey=survey, answers={"nps": 9}, channel="link")

    page = client.get(answer_url(survey, token))

    assert page.status_code == 410
    assert "survey-form" not in page.content.decode()
    assert Invitation.objects.get().status == Invitation.Status.SENT


@pytest.mark.parametrize(
    ("pasted", "preview_says", "sent_says"),
    [
        (
            ["nobody@example.com"],
            "1 pasted address matches no customer",
            "1 pasted address that matches no customer",
        ),
        (
            ["nobody@example.com", "noone@example.com"],
            "2 pasted addresses match no customer",
            "2 pasted addresses that match no customer",
        ),
    ],
)
def test_pasted_addresses_that_match_no_customer_are_counted_in_good_english(
    client, manager, survey, eager_tasks, pasted, preview_says, sent_says
):
    customer(name="Ann", email="ann@example.com")
    client.force_login(manager)
    emails = "\n".join(["ann@example.com", *pasted])

    preview = client.post(page_url(survey), {"action": "preview", "emails": emails})
    assert preview.status_code == 200
    assert preview_says in " ".join(preview.content.decode().split())

    sent = client.post(page_url(survey), {"action": "send", "emails": emails}, follow=True)
    assert sent_says + "." in sent.content.decode()


def test_a_customer_opts_out_from_the_email_and_is_not_invited_again(
    client, survey, eager_tasks, django_capture_on_commit_callbacks
):
    person = customer(email="ana@example.com")
    invite(survey, [person], django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    link = re.search(re.escape(BASE) + r"(/s/opt-out/[^/\s]+/)", message.body).group(1)
    assert message.extra_headers["List-Unsubscribe"] == f"<{BASE}{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{BASE}{link}"' in message.alternatives[0][0]

    asked = client.get(link)
    person.refresh_from_db()
    assert asked.status_code == 200 and "Stop survey invitations?" in asked.content.decode()
    assert person.consent_research  # a GET (a mail scanner following links) changes nothing

    done = client.post(link)
    person.refresh_from_db()
    assert done.status_code == 200 and "You will not be invited again" in done.content.decode()
    assert not person.consent_research
    report = distribution.preview_invitations(survey=make_survey(), customers=[person])
    assert (report.invited, report.no_consent) == (0, 1)


def test_invitations_are_signed_by_the_organisation(
    survey, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.ORGANISATION_NAME = "Acme Rail"

    invite(survey, [customer()], django_capture_on_commit_callbacks)

    message = mail.outbox[0]
    assert "The Acme Rail team" in message.body and "FocusLoop" not in message.body
    assert "The Acme Rail team" in message.alternatives[0][0]


def test_one_click_opt_out_needs_no_csrf_token_and_a_forged_link_changes_nothing(
    survey, django_capture_on_commit_callbacks
):
    from django.test import Client

    person = customer()
    other = customer()
    mail_client = Client(enforce_csrf_checks=True)
    link = reverse("surveys:opt_out", args=[distribution.opt_out_token(person)])

    response = mail_client.post(link, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    person.refresh_from_db()
    assert not person.consent_research
    forged = link.replace(f"/{distribution.opt_out_token(person).split(':')[0]}:", "/MTA:")
    assert mail_client.post(forged).status_code == 404
    other.refresh_from_db()
    assert other.consent_research
