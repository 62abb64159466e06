import datetime as dt
import json
import signal
import threading
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from api import webhooks
from api.models import WebhookDelivery
from feedback.models import Feedback
from surveys import services
from surveys.models import Answer, Invitation, Question, Response, Survey
from surveys.tests.factories import CustomerFactory, InvitationFactory, ProductFactory, make_survey

pytestmark = pytest.mark.django_db


def submit(survey, answers, **kwargs):
    kwargs.setdefault("channel", "link")
    return services.submit_response(survey=survey, answers=answers, **kwargs)


def error_dict(exc_info):
    return exc_info.value.message_dict


# --- answering ----------------------------------------------------------------------------


def test_promoter_answers_without_the_follow_up():
    survey = make_survey()
    response, created = submit(survey, {"nps": 9})
    assert created
    assert [(a.question.key, a.number) for a in response.answers.all()] == [("nps", 9.0)]


def test_hidden_required_question_is_not_required_and_its_answer_is_dropped():
    survey = make_survey()
    response, _ = submit(survey, {"nps": "10", "why": "stale text from before"})
    assert list(response.answers.values_list("question__key", flat=True)) == ["nps"]
    assert not Feedback.objects.exists()


def test_visible_required_question_must_be_answered():
    survey = make_survey()
    with pytest.raises(ValidationError) as exc:
        submit(survey, {"nps": 3})
    assert error_dict(exc) == {"why": ["This question requires an answer."]}
    assert not Response.objects.exists()


def test_wrong_types_and_unknown_keys_are_reported_per_question():
    survey = make_survey()
    with pytest.raises(ValidationError) as exc:
        submit(survey, {"nps": 11, "colour": "red"})
    errors = error_dict(exc)
    assert "whole number from 0 to 10" in errors["nps"][0]
    assert errors["colour"] == ["This is not a question of this survey."]
    assert not Response.objects.exists()


def test_end_if_skips_the_rest_of_the_survey():
    survey = make_survey(
        questions=[
            {
                "key": "is_customer",
                "kind": "yes_no",
                "text": "Are you a customer?",
                "required": True,
                "end_if": {"op": "eq", "value": "no"},
            },
            {"key": "csat", "kind": "csat", "text": "How satisfied?", "required": True},
        ]
    )
    response, _ = submit(survey, {"is_customer": "no", "csat": 4})
    assert list(response.answers.values_list("question__key", flat=True)) == ["is_customer"]
    with pytest.raises(ValidationError) as exc:
        submit(survey, {"is_customer": "yes"})
    assert "csat" in error_dict(exc)


def test_text_answer_becomes_feedback_with_the_first_score_as_rating():
    product = ProductFactory()
    customer = CustomerFactory()
    survey = make_survey(product=product)
    response, _ = submit(survey, {"nps": 3, "why": "Checkout was slow"}, customer=customer)
    answer = response.answers.get(question__key="why")
    feedback = answer.feedback
    assert feedback.channel == Feedback.Channel.SURVEY
    assert feedback.source == f"survey:{survey.slug}"
    assert feedback.external_id == f"{response.pk}:why"
    assert feedback.text == "Checkout was slow"
    assert feedback.customer == customer and feedback.product == product
    assert (feedback.rating, feedback.rating_min, feedback.rating_max) == (3, 0, 10)
    assert feedback.received_at == response.submitted_at


TWO_TEXTS = [
    {"key": "nps", "kind": "nps", "text": "Recommend us?", "required": True},
    {"key": "why", "kind": "long_text", "text": "Tell us more"},
    {"key": "fix", "kind": "short_text", "text": "What should we fix?"},
]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_text_answers_become_feedback_together_and_are_announced_after_commit(
    settings, celery_worker, django_capture_on_commit_callbacks
):
    """On real parts: the deliveries are written after the commit and a Celery worker
    posts them to a receiver on this machine."""
    from api.tests.test_webhooks import Receiver
    from conftest import wait_until

    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = Receiver()
    try:
        webhooks.forget_subscribers()
        webhooks.create_endpoint(
            name="crm", url=receiver.url, events=["feedback.created", "response.created"]
        )
        survey = make_survey(questions=TWO_TEXTS)
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                response, _ = submit(survey, {"nps": 4, "why": "Slow", "fix": "The checkout"})
            assert WebhookDelivery.objects.count() == 0  # nothing before the commit
        # Committed: the callbacks ran, the worker delivers.
        assert wait_until(lambda: len(receiver.requests) == 3)
        by_key = {a.question.key: a for a in Answer.objects.filter(response=response)}
        assert by_key["nps"].feedback_id is None
        texts = {
            key: Feedback.objects.get(pk=by_key[key].feedback_id).text for key in ("why", "fix")
        }
        assert texts == {"why": "Slow", "fix": "The checkout"}
        assert [cb.__name__ for cb in callbacks].count("request_analysis") == 1
        events = sorted((d.event, d.payload["id"]) for d in WebhookDelivery.objects.all())
        assert events == sorted(
            [
                ("feedback.created", by_key["why"].feedback_id),
                ("feedback.created", by_key["fix"].feedback_id),
                ("response.created", response.pk),
            ]
        )
        posted = sorted(
            (headers["X-FocusLoop-Event"], json.loads(body)["data"]["id"])
            for headers, body in receiver.requests
        )
        assert posted == events
    finally:
        receiver.close()
        webhooks.forget_subscribers()


def test_feedback_already_stored_under_the_answers_external_id_refuses_the_response():
    survey = make_survey(questions=TWO_TEXTS)
    first, _ = submit(survey, {"nps": 9})
    # The external id the next response's "why" answer would take, stored by someone else.
    Feedback.objects.create(
        channel="api",
        source=f"survey:{survey.slug}",
        external_id=f"{first.pk + 1}:why",
        text="x",
        received_at=timezone.now(),
    )
    with pytest.raises(ValidationError) as exc_info:
        submit(survey, {"nps": 3, "why": "Slow"})
    assert exc_info.value.code == "duplicate"
    assert Response.objects.count() == 1 and Answer.objects.count() == 1
    assert Feedback.objects.count() == 1


def test_choice_answers_are_stored_with_other_text():
    survey = make_survey(
        questions=[
            {
                "key": "ch",
                "kind": "multiple",
                "text": "Which?",
                "choices": ["Web", "App"],
                "allow_other": True,
            },
            {"key": "one", "kind": "single", "text": "Pick", "choices": ["X", "Y"]},
        ]
    )
    response, _ = submit(survey, {"ch": ["App", "Phone"], "one": "Y"})
    answers = {a.question.key: a for a in response.answers.all()}
    assert answers["ch"].choices == ["App", "Other"] and answers["ch"].text == "Phone"
    assert answers["one"].choices == ["Y"]


# --- lifecycle, window and quota -----------------------------------------------------------


def test_draft_and_closed_surveys_refuse_responses():
    for status in (Survey.Status.DRAFT, Survey.Status.CLOSED):
        survey = make_survey(status=status)
        with pytest.raises(services.SurveyClosed) as exc:
            submit(survey, {"nps": 9})
        assert exc.value.code == "closed"
    assert not Response.objects.exists()


def test_survey_refuses_responses_outside_its_window():
    now = timezone.now()
    later = make_survey(opens_at=now + dt.timedelta(days=1))
    with pytest.raises(services.SurveyClosed):
        submit(later, {"nps": 9})
    ended = make_survey(closes_at=now + dt.timedelta(days=1))
    Survey.objects.filter(pk=ended.pk).update(
        opens_at=now - dt.timedelta(days=3), closes_at=now - dt.timedelta(seconds=1)
    )
    with pytest.raises(services.SurveyClosed):
        submit(ended, {"nps": 9})


def test_quota_refuses_the_response_after_the_last_one():
    survey = make_survey(response_quota=2)
    submit(survey, {"nps": 9})
    submit(survey, {"nps": 8})
    with pytest.raises(services.QuotaReached) as exc:
        submit(survey, {"nps": 7})
    assert exc.value.code == "quota"
    assert survey.responses.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_never_exceed_the_quota(postgres_required):
    survey = make_survey(response_quota=3)
    barrier = threading.Barrier(6)
    outcomes = []

    def answer():
        try:
            barrier.wait()
            submit(survey, {"nps": 9})
            outcomes.append("stored")
        except services.QuotaReached:
            outcomes.append("quota")
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["quota"] * 3 + ["stored"] * 3
    assert Response.objects.filter(survey=survey).count() == 3


def _answer_in_thread(survey_id, outcomes):
    def answer():
        try:
            submit(Survey.objects.get(pk=survey_id), {"nps": 9})
            outcomes.append("stored")
        except services.QuotaReached:
            outcomes.append("quota")
        finally:
            connection.close()

    thread = threading.Thread(target=answer)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_submissions_without_a_quota_do_not_wait_for_each_other(postgres_required):
    survey = make_survey()
    outcomes = []
    with transaction.atomic():
        # This response holds its survey row lock until the block commits ...
        submit(survey, {"nps": 8})
        # ... and another respondent's submission is stored meanwhile.
        other = _answer_in_thread(survey.pk, outcomes)
        other.join(timeout=10)
        assert not other.is_alive()
        assert outcomes == ["stored"]
    assert Response.objects.filter(survey=survey).count() == 2


@pytest.mark.django_db(transaction=True)
def test_submissions_to_a_survey_with_a_quota_take_turns(postgres_required):
    survey = make_survey(response_quota=2)
    outcomes = []
    with transaction.atomic():
        submit(survey, {"nps": 8})
        other = _answer_in_thread(survey.pk, outcomes)
        other.join(timeout=1)
        # Waits for this one's commit, to count it.
        assert other.is_alive() and outcomes == []
    other.join()
    assert outcomes == ["stored"]
    assert Response.objects.filter(survey=survey).count() == 2


def test_a_quota_set_while_a_response_was_being_answered_holds():
    survey = make_survey()
    submit(survey, {"nps": 9})
    stale = Survey.objects.get(pk=survey.pk)  # loaded without a quota
    services.update_survey(survey=survey, response_quota=1)
    with pytest.raises(services.QuotaReached):
        submit(stale, {"nps": 10})
    assert Response.objects.filter(survey=survey).count() == 1
    assert stale.response_quota == 1


@pytest.mark.django_db(transaction=True)
def test_closing_waits_for_a_response_being_stored_and_none_is_stored_after(postgres_required):
    survey = make_survey()
    closed = []

    def close():
        try:
            services.close_survey(survey=Survey.objects.get(pk=survey.pk))
            closed.append(True)
        finally:
            connection.close()

    with transaction.atomic():
        submit(survey, {"nps": 8})
        closer = threading.Thread(target=close)
        closer.start()
        closer.join(timeout=1)
        assert closer.is_alive() and not closed  # the response commits first
    closer.join()
    assert closed
    with pytest.raises(services.SurveyClosed):
        submit(survey, {"nps": 9})
    assert Response.objects.filter(survey=survey).count() == 1


def test_same_client_uuid_stores_one_response_even_after_closing():
    survey = make_survey()
    key = uuid.uuid4()
    first, created = submit(survey, {"nps": 3, "why": "slow"}, client_uuid=key, channel="kiosk")
    again, created_again = submit(survey, {"nps": 10}, client_uuid=str(key), channel="kiosk")
    assert created and not created_again and again.pk == first.pk
    services.close_survey(survey=survey)
    after_close, created_after = submit(survey, {"nps": 3, "why": "slow"}, client_uuid=key)
    assert after_close.pk == first.pk and not created_after
    assert Response.objects.count() == 1 and Feedback.objects.count() == 1


def test_a_repeated_client_uuid_with_answers_no_longer_valid_returns_the_stored_response():
    survey = make_survey()
    key = uuid.uuid4()
    first, _ = submit(survey, {"nps": 9}, client_uuid=key, channel="kiosk")
    again, created = submit(survey, {"nps": 99, "colour": "red"}, client_uuid=key)
    assert again.pk == first.pk and not created
    assert Response.objects.count() == 1


def test_every_question_edit_moves_the_questions_version():
    survey = make_survey()
    versions = [Survey.objects.get(pk=survey.pk).questions_version]

    def moved():
        versions.append(Survey.objects.get(pk=survey.pk).questions_version)
        return versions[-1] > versions[-2]

    extra = services.add_question(survey=survey, key="extra", kind="csat", text="Happy?")
    assert moved()
    services.update_question(question=extra, text="Happy now?")
    assert moved()
    copy = services.duplicate_question(question=extra)
    assert moved()
    services.move_question(question=copy, offset=-1)
    assert moved()
    services.reorder_questions(survey=survey, keys=["nps", "why", "extra", copy.key])
    assert moved()
    services.delete_question(question=copy)
    assert moved()
    with pytest.raises(ValidationError):
        services.update_question(question=extra, text="")
    assert not moved()


def test_answers_are_checked_against_the_questions_current_when_stored():
    survey = make_survey()
    submit(survey, {"nps": 9})
    stale = Survey.objects.get(pk=survey.pk)
    services.add_question(
        survey=survey, key="plan", kind="single", text="Plan?", choices=["Free", "Pro"]
    )
    # Loaded before the edit: the new question is accepted all the same ...
    response, _ = submit(stale, {"nps": 9, "plan": "Pro"})
    assert sorted(response.answers.values_list("question__key", flat=True)) == ["nps", "plan"]

    stale = Survey.objects.get(pk=survey.pk)
    services.update_question(question=survey.questions.get(key="plan"), required=True)
    # ... and a question that became required is required, though the answers were
    # valid for the questions as the caller's row knew them.
    with pytest.raises(ValidationError) as exc:
        submit(stale, {"nps": 9})
    assert error_dict(exc) == {"plan": ["This question requires an answer."]}
    assert stale.questions_version == Survey.objects.get(pk=survey.pk).questions_version
    assert Response.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_response_waiting_on_a_question_edit_is_checked_against_the_edit(postgres_required):
    survey = make_survey(questions=[{"key": "nps", "kind": "nps", "text": "Recommend?"}])
    outcomes = []

    def answer():
        try:
            submit(Survey.objects.get(pk=survey.pk), {"nps": 9})
            outcomes.append("stored")
        except ValidationError as exc:
            outcomes.append(exc.message_dict)
        finally:
            connection.close()

    with transaction.atomic():
        services.add_question(
            survey=survey, key="email", kind="short_text", text="Email?", required=True
        )
        # The respondent loads the survey and its questions before the edit commits,
        # then waits for the edit's lock on the survey row.
        respondent = threading.Thread(target=answer)
        respondent.start()
        respondent.join(timeout=1)
        assert respondent.is_alive()
    respondent.join()
    assert outcomes == [{"email": ["This question requires an answer."]}]
    assert not Response.objects.exists()


def test_invalid_client_uuid_and_future_submitted_at_are_refused():
    survey = make_survey()
    with pytest.raises(ValidationError) as exc:
        submit(survey, {"nps": 9}, client_uuid="not-a-uuid")
    assert "client_uuid" in error_dict(exc)
    with pytest.raises(ValidationError) as exc:
        submit(survey, {"nps": 9}, submitted_at=timezone.now() + dt.timedelta(hours=1))
    assert "submitted_at" in error_dict(exc)


# --- invitations ------------------------------------------------------------------------


def test_invitation_is_marked_answered_and_cannot_be_used_twice():
    survey = make_survey()
    invitation = InvitationFactory(survey=survey)
    response, _ = submit(survey, {"nps": 9}, invitation=invitation, channel="email")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ANSWERED and invitation.answered_at
    assert response.customer == invitation.customer and response.invitation == invitation
    with pytest.raises(services.InvitationUsed) as exc:
        submit(survey, {"nps": 5, "why": "x"}, invitation=invitation, channel="email")
    assert exc.value.code == "invitation_used"
    assert Response.objects.count() == 1


def test_invitation_of_another_survey_is_refused():
    survey, other = make_survey(), make_survey(title="Other")
    invitation = InvitationFactory(survey=other)
    with pytest.raises(ValidationError):
        submit(survey, {"nps": 9}, invitation=invitation)
    assert not Response.objects.exists()


# --- builder ------------------------------------------------------------------------------


def test_create_survey_gets_a_short_unique_slug():
    a = services.create_survey(title="Onboarding feedback 2026")
    b = services.create_survey(title="Onboarding feedback 2026")
    assert a.slug != b.slug and a.slug.startswith("onboarding-feedback")
    assert len(a.slug) <= 27 and a.status == Survey.Status.DRAFT


def test_closing_date_must_follow_opening_date():
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.create_survey(title="T", opens_at=now, closes_at=now - dt.timedelta(hours=1))
    assert "closes_at" in error_dict(exc)


def test_open_needs_a_question_and_close_reopen_track_times():
    survey = services.create_survey(title="Empty")
    with pytest.raises(ValidationError, match="at least one question"):
        services.open_survey(survey=survey)
    services.add_question(survey=survey, kind="csat", text="Happy?")
    survey = services.open_survey(survey=survey)
    assert survey.status == "open" and survey.opened_at
    survey = services.close_survey(survey=survey)
    assert survey.status == "closed" and survey.closed_at
    survey = services.open_survey(survey=survey)
    assert survey.status == "open" and survey.closed_at is None


def test_logic_referring_to_a_later_or_missing_question_is_refused_on_save():
    survey = services.create_survey(title="Logic")
    with pytest.raises(ValidationError) as exc:
        services.add_question(
            survey=survey,
            kind="short_text",
            text="Why?",
            show_if={"question": "nps", "op": "lte", "value": 6},
        )
    assert "missing" in error_dict(exc)["show_if"][0]
    services.add_question(survey=survey, kind="nps", text="Recommend?", key="nps")
    with pytest.raises(ValidationError) as exc:
        services.add_question(
            survey=survey,
            kind="short_text",
            text="Why?",
            position=0,
            show_if={"question": "nps", "op": "lte", "value": 6},
        )
    assert "comes later" in error_dict(exc)["show_if"][0]
    why = services.add_question(
        survey=survey,
        kind="short_text",
        text="Why?",
        show_if={"question": "nps", "op": "lte", "value": 6},
    )
    with pytest.raises(ValidationError):
        services.move_question(question=why, offset=-1)


def test_editing_an_answered_question_versions_it_and_keeps_old_answers():
    survey = make_survey(
        questions=[
            {"key": "plan", "kind": "single", "text": "Your plan?", "choices": ["Free", "Pro"]},
            {
                "key": "upgrade",
                "kind": "yes_no",
                "text": "Upgrade?",
                "show_if": {"question": "plan", "op": "eq", "value": "Free"},
            },
        ]
    )
    old_response, _ = submit(survey, {"plan": "Free", "upgrade": "yes"})
    plan = survey.questions.get(key="plan")

    typo = services.update_question(question=plan, text="Your plan")
    assert typo.pk == plan.pk and typo.text == "Your plan"

    new = services.update_question(question=plan, choices=["Free", "Pro", "Team"])
    plan.refresh_from_db()
    assert new.pk != plan.pk and new.key == "plan_v2" and new.position == plan.position
    assert plan.archived_at and plan.replaced_by == new
    assert list(survey.questions.current().values_list("key", flat=True)) == ["plan_v2", "upgrade"]
    assert survey.questions.get(key="upgrade").show_if["question"] == "plan_v2"
    old_answer = old_response.answers.get(question__key="plan")
    assert old_answer.question == plan and old_answer.choices == ["Free"]
    response, _ = submit(survey, {"plan_v2": "Team"})
    assert response.answers.get().question == new


@pytest.fixture
def fail_after_ten_seconds():
    """Turn a hang (an endless loop in the code under test) into a failure."""

    def give_up(signum, frame):
        raise TimeoutError("still running after 10 s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("length", [38, 39, 40])
def test_an_answered_question_with_a_long_key_is_versioned_again_and_again(
    length, fail_after_ten_seconds
):
    key = "k" * length
    survey = make_survey(
        questions=[{"key": key, "kind": "single", "text": "Plan?", "choices": ["A", "B"]}]
    )
    submit(survey, {key: "A"})
    second = services.update_question(
        question=survey.questions.get(key=key), choices=["A", "B", "C"]
    )
    submit(survey, {second.key: "C"})
    third = services.update_question(question=second, choices=["A", "B", "C", "D"])

    keys = [key, second.key, third.key]
    assert len(set(keys)) == 3 and all(len(k) <= 40 for k in keys)
    assert list(survey.questions.current().values_list("key", flat=True)) == [third.key]


def test_a_second_edit_of_a_question_replaced_meanwhile_is_refused():
    """Two managers (or a double-clicked Save) edit the same answered question: each
    request loaded it before the other's edit committed."""
    survey = make_survey(
        questions=[{"key": "plan", "kind": "single", "text": "Plan?", "choices": ["A", "B"]}]
    )
    submit(survey, {"plan": "A"})
    first_page, second_page = Question.objects.get(key="plan"), Question.objects.get(key="plan")

    services.update_question(question=first_page, choices=["A", "B", "C"])
    with pytest.raises(ValidationError, match="replaced by a newer version"):
        services.update_question(question=second_page, choices=["A", "B", "D"])
    with pytest.raises(ValidationError, match="replaced by a newer version"):
        services.update_question(question=second_page, text="Which plan?")

    assert list(survey.questions.current().values_list("key", "choices")) == [
        ("plan_v2", ["A", "B", "C"])
    ]
    assert survey.questions.get(key="plan").text == "Plan?"


@pytest.mark.parametrize(
    "action",
    [
        lambda q: services.delete_question(question=q),
        lambda q: services.duplicate_question(question=q),
        lambda q: services.move_question(question=q, offset=1),
        lambda q: services.move_question(question=q, offset=-1),
    ],
    ids=["delete", "duplicate", "down", "up"],
)
def test_actions_on_a_question_replaced_or_deleted_meanwhile_are_refused(action):
    survey = make_survey(
        questions=[
            {"key": "a", "kind": "csat", "text": "A?"},
            {"key": "plan", "kind": "single", "text": "Plan?", "choices": ["A", "B"]},
            {"key": "z", "kind": "short_text", "text": "Z?"},
        ]
    )
    submit(survey, {"plan": "A"})
    stale = Question.objects.get(key="plan")
    services.update_question(question=Question.objects.get(key="plan"), choices=["A", "C"])
    gone = Question.objects.get(key="z")
    services.delete_question(question=Question.objects.get(key="z"))

    for question in (stale, gone):
        with pytest.raises(ValidationError) as exc:
            action(question)
        assert exc.value.code == "question_gone"
    assert list(survey.questions.current().values_list("key", flat=True)) == ["a", "plan_v2"]
    assert Question.objects.get(key="plan").archived_at is not None


def test_editing_an_unanswered_question_changes_it_in_place():
    survey = make_survey(questions=[{"key": "c", "kind": "csat", "text": "Happy?"}])
    question = survey.questions.get()
    edited = services.update_question(question=question, kind="ces")
    assert edited.pk == question.pk and edited.kind == "ces"


def test_deleting_an_answered_question_archives_it():
    survey = make_survey(
        questions=[
            {"key": "c", "kind": "csat", "text": "Happy?"},
            {"key": "d", "kind": "short_text", "text": "More?"},
        ]
    )
    submit(survey, {"c": 4})
    services.delete_question(question=survey.questions.get(key="c"))
    services.delete_question(question=survey.questions.get(key="d"))
    assert Question.objects.filter(key="c", archived_at__isnull=False).exists()
    assert not Question.objects.filter(key="d").exists()
    assert Answer.objects.count() == 1


def test_question_used_by_a_rule_cannot_be_deleted():
    survey = make_survey()
    with pytest.raises(ValidationError, match="why"):
        services.delete_question(question=survey.questions.get(key="nps"))


def test_duplicate_and_move_question():
    survey = make_survey(
        questions=[
            {"key": "a", "kind": "csat", "text": "A"},
            {"key": "b", "kind": "ces", "text": "B"},
        ]
    )
    copy = services.duplicate_question(question=survey.questions.get(key="a"))
    assert copy.key == "a_copy"
    assert list(survey.questions.current().values_list("key", flat=True)) == ["a", "a_copy", "b"]
    services.move_question(question=survey.questions.get(key="b"), offset=-1)
    assert list(survey.questions.current().values_list("key", flat=True)) == ["a", "b", "a_copy"]


def test_choice_question_needs_two_choices():
    survey = services.create_survey(title="Choices")
    with pytest.raises(ValidationError) as exc:
        services.add_question(survey=survey, kind="single", text="Pick", choices=["Only"])
    assert "choices" in error_dict(exc)


def test_reorder_questions_keeps_rules_after_their_question():
    survey = make_survey(
        questions=[
            {"key": "a", "kind": "csat", "text": "A"},
            {"key": "b", "kind": "ces", "text": "B"},
            {
                "key": "c",
                "kind": "short_text",
                "text": "C",
                "show_if": {"question": "a", "op": "lte", "value": 2},
            },
        ]
    )
    services.reorder_questions(survey=survey, keys=["b", "a", "c"])
    assert list(survey.questions.current().values_list("key", flat=True)) == ["b", "a", "c"]
    with pytest.raises(ValidationError) as exc:
        services.reorder_questions(survey=survey, keys=["c", "b", "a"])
    assert "comes later" in error_dict(exc)["order"][0]
    with pytest.raises(ValidationError):
        services.reorder_questions(survey=survey, keys=["a", "b"])
    assert list(survey.questions.current().values_list("key", flat=True)) == ["b", "a", "c"]


def test_survey_with_responses_cannot_be_deleted():
    survey = make_survey()
    submit(survey, {"nps": 9})
    with pytest.raises(ValidationError, match="close it instead"):
        services.delete_survey(survey=survey)
    empty = make_survey(title="Empty", status=Survey.Status.DRAFT)
    services.delete_survey(survey=empty)
    assert not Survey.objects.filter(pk=empty.pk).exists()


def test_a_back_dated_response_marks_its_rollup_day_for_a_recount():
    from insights.models import DirtyRollupDay

    survey = make_survey(questions=[{"key": "nps", "kind": "nps", "text": "Recommend us?"}])
    Survey.objects.filter(pk=survey.pk).update(opened_at=timezone.now() - dt.timedelta(days=30))
    survey.refresh_from_db()
    old = timezone.now() - dt.timedelta(days=10)
    submit(survey, {"nps": 9}, submitted_at=old)
    submit(survey, {"nps": 3})
    assert list(DirtyRollupDay.objects.values_list("day", flat=True)) == [
        old.astimezone(dt.UTC).date()
    ]


def test_a_quota_above_the_maximum_is_refused():
    """The admin and other callers reach the service without the builder's form."""
    with pytest.raises(ValidationError) as exc:
        services.create_survey(title="Big", response_quota=99999999999999999999)
    assert exc.value.message_dict == {
        "response_quota": ["The quota can be at most 1,000,000 responses."]
    }
    survey = services.create_survey(title="Big", response_quota=Survey.MAX_RESPONSE_QUOTA)
    with pytest.raises(ValidationError):
        services.update_survey(survey=survey, response_quota=Survey.MAX_RESPONSE_QUOTA + 1)
    survey.refresh_from_db()
    assert survey.response_quota == Survey.MAX_RESPONSE_QUOTA
