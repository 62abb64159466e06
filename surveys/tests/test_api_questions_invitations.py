"""Questions (every version) and invitations of a survey over the API."""

import pytest
from rest_framework.test import APIClient

from api.tests.conftest import key_client, person_client
from feedback.tests.factories import CustomerFactory
from surveys import services
from surveys.models import Invitation, Question, Survey
from surveys.tests.factories import InvitationFactory, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return key_client(["surveys:read"])


@pytest.fixture
def sender():
    return key_client(["surveys:read", "surveys:write"])


def questions_url(survey):
    return f"/api/v1/surveys/{survey.pk}/questions/"


def invitations_url(survey):
    return f"/api/v1/surveys/{survey.pk}/invitations/"


def replace_a_version(survey: Survey) -> Question:
    """Answer the survey, then change the choices of ``plan``: the builder archives the
    answered version and asks a new one."""
    services.submit_response(survey=survey, answers={"nps": 9, "plan": "Basic"}, channel="api")
    plan = survey.questions.get(key="plan")
    return services.update_question(question=plan, choices=["Basic", "Pro", "Team"])


def survey_with_choice() -> Survey:
    return make_survey(
        questions=[
            {"key": "nps", "kind": "nps", "text": "Recommend us?", "required": True},
            {"key": "plan", "kind": "single", "text": "Your plan?", "choices": ["Basic", "Pro"]},
        ]
    )


def test_questions_list_every_version_in_survey_order(reader):
    survey = survey_with_choice()
    new_version = replace_a_version(survey)
    rows = reader.get(questions_url(survey)).json()["results"]
    keys = [(r["key"], r["archived_at"] is not None) for r in rows]
    assert keys[0] == ("nps", False)
    assert ("plan", True) in keys and (new_version.key, False) in keys
    old = next(r for r in rows if r["key"] == "plan")
    assert old["replaced_by"] == new_version.pk and old["choices"] == ["Basic", "Pro"]
    current = reader.get(questions_url(survey), {"archived": "false"}).json()["results"]
    assert [r["key"] for r in current] == ["nps", new_version.key]
    earlier = reader.get(questions_url(survey), {"archived": "true"}).json()["results"]
    assert [r["key"] for r in earlier] == ["plan"]
    scales = reader.get(questions_url(survey), {"kind": "nps"}).json()["results"]
    assert [(r["key"], r["scale"]["max"]) for r in scales] == [("nps", 10)]
    one = reader.get(f"{questions_url(survey)}{old['id']}/")
    assert one.status_code == 200 and one.json()["key"] == "plan"


def test_a_question_of_another_survey_is_not_found(reader):
    survey, other = make_survey(), make_survey(title="Other")
    question = other.questions.first()
    assert reader.get(f"{questions_url(survey)}{question.pk}/").status_code == 404
    assert reader.get("/api/v1/surveys/999999/questions/").status_code == 404
    bad = reader.get(questions_url(survey), {"kind": "essay"})
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]


def test_questions_are_read_only(sender):
    survey = make_survey()
    refused = sender.post(questions_url(survey), {"kind": "nps", "text": "?"}, format="json")
    assert refused.status_code == 405
    assert survey.questions.count() == 2


def test_question_and_invitation_lists_query_count_is_bounded(
    reader, django_assert_max_num_queries
):
    survey = make_survey(
        questions=[{"key": f"q{n}", "kind": "short_text", "text": f"Q{n}"} for n in range(15)]
    )
    for _ in range(15):
        InvitationFactory(survey=survey)
    reader.get(questions_url(survey))  # the key is looked up once, then remembered
    with django_assert_max_num_queries(3):
        questions = reader.get(questions_url(survey), {"page_size": 10}).json()
    with django_assert_max_num_queries(3):
        invitations = reader.get(invitations_url(survey), {"page_size": 10}).json()
    assert len(questions["results"]) == 10 and questions["next"]
    assert len(invitations["results"]) == 10 and invitations["next"]


def test_invitations_walk_by_cursor_and_filter_by_status(reader):
    survey = make_survey()
    made = [InvitationFactory(survey=survey) for _ in range(7)]
    Invitation.objects.filter(pk=made[0].pk).update(status=Invitation.Status.ANSWERED)
    page = reader.get(invitations_url(survey), {"page_size": 3}).json()
    seen = [i["id"] for i in page["results"]]
    while page["next"]:
        page = reader.get(page["next"]).json()
        seen += [i["id"] for i in page["results"]]
    assert sorted(seen) == sorted(i.pk for i in made)
    answered = reader.get(invitations_url(survey), {"status": "answered"}).json()["results"]
    assert [(i["id"], i["status"]) for i in answered] == [(made[0].pk, "answered")]
    assert "token_digest" not in answered[0]
    by_email = reader.get(invitations_url(survey), {"email": made[1].email.upper()}).json()
    assert [i["id"] for i in by_email["results"]] == [made[1].pk]
    one = reader.get(f"{invitations_url(survey)}{made[2].pk}/").json()
    assert one["customer"] == made[2].customer_id and one["email"] == made[2].email
    other = make_survey(title="Other")
    assert reader.get(f"{invitations_url(other)}{made[2].pk}/").status_code == 404


def test_invitations_filter_by_creation_time_with_any_iso_offset(reader):
    survey = make_survey()
    invitation = InvitationFactory(survey=survey)
    Invitation.objects.filter(pk=invitation.pk).update(created_at="2025-01-15T12:00:00Z")
    # 2025-01-15T00:00-20:00 is 2025-01-15T20:00 UTC, after the invitation.
    response = reader.get(invitations_url(survey), {"created_before": "2025-01-15T00:00:00-20:00"})
    assert response.status_code == 200, response.content
    assert [i["id"] for i in response.json()["results"]] == [invitation.pk]
    response = reader.get(invitations_url(survey), {"created_after": "2025-01-15T00:00:00-20:00"})
    assert response.json()["results"] == []


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_customers_are_invited_by_id_and_email_through_the_service(sender, celery_worker):
    """A real worker on Redis emails the invitations once the request commits."""
    from django.core import mail

    from conftest import wait_until

    survey = make_survey()
    willing = CustomerFactory(consent_research=True)
    by_email = CustomerFactory(consent_research=True, email="Ana@Example.com")
    unwilling = CustomerFactory(consent_research=False)
    answer = sender.post(
        invitations_url(survey),
        {
            "customers": [willing.pk, unwilling.pk],
            "emails": ["ana@example.com", "nobody@example.com"],
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    report = answer.json()
    assert report["invited"] == 2 and report["no_consent"] == 1
    assert report["unknown_emails"] == ["nobody@example.com"]
    invited = Invitation.objects.filter(survey=survey)
    assert {i.customer_id for i in invited} == {willing.pk, by_email.pk}
    assert sorted(report["invitation_ids"]) == sorted(i.pk for i in invited)
    assert all(i.sent_by is None for i in invited)
    assert wait_until(lambda: len(mail.outbox) == 2)
    assert sorted(m.to[0].lower() for m in mail.outbox) == sorted(
        [willing.email.lower(), "ana@example.com"]
    )
    assert wait_until(lambda: invited.filter(status=Invitation.Status.SENT).count() == 2)

    again = sender.post(invitations_url(survey), {"customers": [willing.pk]}, format="json")
    assert again.status_code == 200 and again.json()["already_invited"] == 1
    assert invited.count() == 2


def test_bad_invitation_requests_answer_400_or_409(sender):
    survey = make_survey()
    empty = sender.post(invitations_url(survey), {}, format="json")
    assert empty.status_code == 400 and empty.json()["errors"]["non_field_errors"]
    unknown = sender.post(invitations_url(survey), {"customers": [999999]}, format="json")
    assert unknown.status_code == 400 and "999999" in unknown.json()["errors"]["customers"][0]
    bad_email = sender.post(invitations_url(survey), {"emails": ["not-an-email"]}, format="json")
    assert bad_email.status_code == 400 and "emails.0" in bad_email.json()["errors"]
    closed = make_survey(title="Closed", status=Survey.Status.CLOSED)
    customer = CustomerFactory(consent_research=True)
    refused = sender.post(invitations_url(closed), {"customers": [customer.pk]}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "survey_not_open"
    assert not Invitation.objects.exists()


def test_scopes_and_roles_decide_who_reads_and_who_invites(staff_member, manager, outsider):
    survey = make_survey()
    customer = CustomerFactory(consent_research=True)
    body = {"customers": [customer.pk]}
    for path in (questions_url(survey), invitations_url(survey)):
        assert key_client(["feedback:read"]).get(path).status_code == 403
        assert APIClient().get(path).status_code == 401
        assert person_client(outsider).get(path).status_code == 403
        assert person_client(staff_member).get(path).status_code == 200
    assert key_client(["surveys:read"]).post(invitations_url(survey), body).status_code == 403
    assert person_client(staff_member).post(invitations_url(survey), body).status_code == 403
    assert not Invitation.objects.exists()
    invited = person_client(manager).post(invitations_url(survey), body, format="json")
    assert invited.status_code == 201
    assert Invitation.objects.get().sent_by == manager


def _invitation(survey, *, days_ago: float, status: str = "sent"):
    import datetime as dt

    from django.utils import timezone

    from surveys import distribution

    person = CustomerFactory(consent_research=True)
    return Invitation.objects.create(
        survey=survey,
        customer=person,
        email=person.email,
        token_digest=distribution.new_token()[1],
        status=status,
        sent_at=timezone.now() - dt.timedelta(days=days_ago) if status != "failed" else None,
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_reminders_and_failed_resends_are_sent_by_a_real_worker(settings, celery_worker):
    """The invitations page's two buttons over the API: a real worker on Redis emails the
    invitees due a reminder and the ones whose first email failed; nobody else."""
    from django.core import mail

    from conftest import wait_until

    settings.SURVEY_REMINDER_MIN_DAYS = 3
    survey = make_survey(title="Delivery survey")
    due = _invitation(survey, days_ago=5)
    _invitation(survey, days_ago=1)  # emailed too recently
    _invitation(survey, days_ago=5, status="answered")
    failed = _invitation(survey, days_ago=0, status="failed")
    sender = key_client(["surveys:write"])

    reminded = sender.post(f"{invitations_url(survey)}reminders/")
    assert reminded.status_code == 202 and reminded.json() == {"queued": 1}
    assert wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == [due.email]
    assert mail.outbox[0].subject == "Reminder: Delivery survey"
    # Right after a reminder nobody is due again.
    assert sender.post(f"{invitations_url(survey)}reminders/").json() == {"queued": 0}

    resent = sender.post(f"{invitations_url(survey)}resend-failed/")
    assert resent.status_code == 202 and resent.json() == {"queued": 1}
    assert wait_until(lambda: len(mail.outbox) == 2)
    assert mail.outbox[1].to == [failed.email]
    failed.refresh_from_db()
    assert failed.status == Invitation.Status.SENT


def test_invitation_actions_need_write_rights_and_an_open_survey(manager, staff_member):
    survey = make_survey()
    for path in ("reminders/", "resend-failed/"):
        url = f"{invitations_url(survey)}{path}"
        assert key_client(["surveys:read"]).post(url).status_code == 403
        assert person_client(staff_member).post(url).status_code == 403
        assert person_client(manager).post(url).status_code == 202
        assert APIClient().post(url).status_code == 401
    survey.status = Survey.Status.CLOSED
    survey.save(update_fields=["status"])
    refused = key_client(["surveys:write"]).post(f"{invitations_url(survey)}reminders/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "survey_not_open"
