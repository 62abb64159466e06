"""A survey response stored in one statement (PostgreSQL): the rows, their links and the
survey row lock are those the separate statements wrote."""

import threading
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from feedback.models import Feedback
from surveys import response_statement, services
from surveys.models import Answer, Response, Survey
from surveys.tests.factories import CustomerFactory, ProductFactory, make_survey

pytestmark = [pytest.mark.django_db]

TEXTS = [
    {"key": "nps", "kind": "nps", "text": "Recommend us?", "required": True},
    {"key": "why", "kind": "long_text", "text": "Tell us more"},
    {"key": "csat", "kind": "csat", "text": "Satisfied?"},
    {"key": "fix", "kind": "short_text", "text": "What should we fix?"},
]


def submit(survey, answers, **kwargs):
    kwargs.setdefault("channel", "link")
    return services.submit_response(survey=survey, answers=answers, **kwargs)


def _statements(queries):
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_one_statement_writes_the_response_its_answers_and_their_feedback(postgres_required):
    product, customer = ProductFactory(), CustomerFactory()
    survey = make_survey(questions=TEXTS, product=product)
    # The questions and the webhook subscribers are looked up once per process.
    submit(survey, {"nps": 9, "why": "Fine"})
    with CaptureQueriesContext(connection) as queries:
        response, created = submit(
            survey,
            {"nps": 4, "why": "Slow checkout", "csat": 2, "fix": "The payment page"},
            customer=customer,
        )
    # The survey was passed in: one statement, in the transaction's savepoint.
    [statement] = _statements(queries)
    assert statement.startswith("EXECUTE ")
    assert created and response.pk and not response._state.adding

    stored = {a.question.key: a for a in Answer.objects.filter(response=response)}
    assert {k: (a.number, a.text) for k, a in stored.items()} == {
        "nps": (4, ""),
        "why": (None, "Slow checkout"),
        "csat": (2, ""),
        "fix": (None, "The payment page"),
    }
    # Each text answer is linked to its own feedback row, named after the response.
    for key, text in (("why", "Slow checkout"), ("fix", "The payment page")):
        feedback = Feedback.objects.get(pk=stored[key].feedback_id)
        assert feedback.text == text
        assert feedback.external_id == f"{response.pk}:{key}"
        assert feedback.source == f"survey:{survey.slug}"
        assert feedback.customer == customer and feedback.product == product
        assert (feedback.rating, feedback.rating_min, feedback.rating_max) == (4, 0, 10)
    assert stored["nps"].feedback_id is None and stored["csat"].feedback_id is None

    # The objects handed back carry the keys and links the rows have.
    returned = {a.question.key: a for a in response.answers.all()}
    assert {k: a.pk for k, a in returned.items()} == {k: a.pk for k, a in stored.items()}
    assert returned["why"].feedback.pk == stored["why"].feedback_id
    assert returned["why"].feedback.external_id == f"{response.pk}:why"
    assert returned["nps"].response is response


def test_a_response_that_answers_nothing_is_stored(postgres_required):
    optional = [{"key": "why", "kind": "long_text", "text": "Anything to add?"}]
    survey = make_survey(questions=optional)
    submit(survey, {"why": "Once"})
    with CaptureQueriesContext(connection) as queries:
        response, created = submit(survey, {})
    [statement] = _statements(queries)
    assert statement.startswith("EXECUTE ")
    assert created and response.pk and list(response.answers.all()) == []
    assert Response.objects.count() == 2 and Answer.objects.count() == 1
    assert Feedback.objects.count() == 1


def test_a_long_response_is_sent_as_a_plain_statement(postgres_required):
    count = response_statement.MAX_PREPARED_ANSWERS + 2
    questions = [{"key": f"q{n}", "kind": "short_text", "text": f"Q{n}?"} for n in range(count)]
    survey = make_survey(questions=questions)
    answers = {f"q{n}": f"answer {n}" for n in range(count)}
    submit(survey, {"q0": "once"})  # the questions, once per process
    with CaptureQueriesContext(connection) as queries:
        response, _ = submit(survey, answers)
    [statement] = _statements(queries)
    assert statement.startswith("WITH s AS (SELECT")
    stored = Answer.objects.filter(response=response).select_related("question", "feedback")
    assert {a.question.key: a.feedback.text for a in stored} == answers
    assert all(a.feedback.external_id == f"{response.pk}:{a.question.key}" for a in stored)


def test_the_other_paths_keep_their_statements(postgres_required):
    # A quota is counted under an exclusive lock, in statements of their own.
    survey = make_survey(questions=TEXTS, response_quota=5)
    submit(survey, {"nps": 9, "why": "Fine"})
    with CaptureQueriesContext(connection) as queries:
        submit(survey, {"nps": 4, "why": "Slow"})
    # The early count, the response, its feedback, its answers, the lock, the count.
    assert len(_statements(queries)) == 6
    assert Response.objects.count() == 2 and Feedback.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_response_waiting_on_a_close_is_refused_and_nothing_is_stored(postgres_required):
    survey = make_survey(questions=TEXTS)
    outcomes = []

    def answer():
        try:
            submit(Survey.objects.get(pk=survey.pk), {"nps": 3, "why": "Too late?"})
            outcomes.append("stored")
        except services.SurveyClosed:
            outcomes.append("closed")
        finally:
            connection.close()

    with transaction.atomic():
        services.close_survey(survey=Survey.objects.select_for_update().get(pk=survey.pk))
        # The respondent loaded the open survey and waits for the close's row lock.
        respondent = threading.Thread(target=answer)
        respondent.start()
        respondent.join(timeout=1)
        assert respondent.is_alive()
    respondent.join()
    assert outcomes == ["closed"]
    assert not Response.objects.exists() and not Feedback.objects.exists()
    assert not Answer.objects.exists()


def _statements_run(call):
    """Run ``call``; return each statement's first word with the connection's autocommit
    at the time it ran."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql.split()[0], connection.get_autocommit()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = call()
    return seen, result


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_statement_is_the_only_round_trip(postgres_required):
    survey = make_survey(questions=TEXTS)
    submit(survey, {"nps": 9, "why": "Fine"})
    seen, (response, created) = _statements_run(
        lambda: submit(survey, {"nps": 3, "why": "Slow", "fix": "Faster"})
    )
    # No BEGIN and COMMIT around it: one statement is atomic by itself.
    assert seen == [("EXECUTE", True)]
    assert created and Response.objects.count() == 2
    assert Feedback.objects.filter(external_id__startswith=f"{response.pk}:").count() == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_refused_response_writes_nothing(postgres_required):
    survey = make_survey(questions=TEXTS)
    submit(survey, {"nps": 9, "why": "Fine"})
    stale = Survey.objects.get(pk=survey.pk)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    with pytest.raises(services.SurveyClosed):
        submit(stale, {"nps": 3, "why": "Slow"})
    assert (Response.objects.count(), Answer.objects.count(), Feedback.objects.count()) == (
        1,
        2,
        1,
    )


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_repeated_client_uuid_returns_the_stored_response(
    postgres_required,
):
    survey = make_survey(questions=TEXTS)
    client_uuid = uuid.uuid4()
    first, created = submit(survey, {"nps": 3, "why": "Slow"}, client_uuid=client_uuid)
    again, created_again = submit(survey, {"nps": 3, "why": "Slow"}, client_uuid=client_uuid)
    assert created and not created_again and again.pk == first.pk
    assert (Response.objects.count(), Feedback.objects.count()) == (1, 1)
