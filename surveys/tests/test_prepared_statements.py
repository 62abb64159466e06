"""Server-side prepared statements (``feedback.inserts.execute_prepared``) on the
respondent's path: a survey response's inserts and look-ups."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from feedback import inserts
from feedback.inserts import execute_prepared, insert_rows
from surveys.models import Answer, Response
from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server-side prepared statements"
)


def prepared_here(sql_fragment: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{sql_fragment}%"],
        )
        return cursor.fetchone()[0]


def run(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        return cursor.fetchall()


def test_values_and_percent_signs_come_through():
    sql = "SELECT CAST(%s AS text) || '%%', CAST(%s AS integer) + 1"
    assert run(sql, ["a", 1]) == [("a%", 2)]
    assert run(sql, ["b", 41]) == [("b%", 42)]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_statement_is_prepared_once_per_connection_and_again_after_a_reconnect():
    sql = "SELECT %s::integer * 2 AS fl_test_doubled"
    assert run(sql, [2]) == [(4,)]
    assert run(sql, [5]) == [(10,)]
    assert prepared_here("fl_test_doubled") == 1

    connection.close()
    assert run(sql, [7]) == [(14,)]
    assert prepared_here("fl_test_doubled") == 1


@on_postgresql
def test_the_prepare_is_not_counted_nor_undone_by_a_rollback():
    sql = "SELECT %s::integer + 100 AS fl_test_rolled_back"
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            assert run(sql, [1]) == [(101,)]
            transaction.set_rollback(True)
    assert sum(q["sql"].startswith("EXECUTE") for q in queries.captured_queries) == 1
    assert not any(q["sql"].startswith("PREPARE") for q in queries.captured_queries)
    assert run(sql, [2]) == [(102,)]


def test_prepared_inserts_store_what_plain_ones_store(monkeypatch):
    survey = make_survey()
    question = survey.questions.get(key="nps")
    plain = [Response(survey=survey, channel="api") for _ in range(2)]
    prepared = [Response(survey=survey, channel="api") for _ in range(2)]
    with CaptureQueriesContext(connection) as plain_queries:
        insert_rows(plain)
    with CaptureQueriesContext(connection) as prepared_queries:
        insert_rows(prepared, prepared=True)
    assert [q["sql"].split()[0] for q in plain_queries.captured_queries] == ["INSERT"]
    assert [q["sql"].split()[0] for q in prepared_queries.captured_queries] == ["EXECUTE"]
    assert all(r.pk and not r._state.adding for r in plain + prepared)
    assert Response.objects.filter(pk__in=[r.pk for r in plain + prepared]).count() == 4

    # More rows than a prepared statement takes go as one plain statement.
    monkeypatch.setattr(inserts, "_MAX_PREPARED_ROWS", 1)
    answers = [Answer(response=r, question=question, number=n) for n, r in enumerate(prepared)]
    with CaptureQueriesContext(connection) as queries:
        insert_rows(answers, prepared=True)
    assert [q["sql"].split(" ")[0] for q in queries.captured_queries] == ["INSERT"]
    assert sorted(
        Answer.objects.filter(response__in=prepared).values_list("number", flat=True)
    ) == [
        0,
        1,
    ]


def test_a_refused_prepared_insert_raises_the_database_error():
    survey = make_survey()
    question = survey.questions.get(key="nps")
    response = Response(survey=survey, channel="api")
    insert_rows([response], prepared=True)
    insert_rows([Answer(response=response, question=question, number=1)], prepared=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([Answer(response=response, question=question, number=2)], prepared=True)
    assert list(response.answers.values_list("number", flat=True)) == [1]


@on_postgresql
def test_switched_off_for_a_transaction_mode_pooler(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    sql = "SELECT %s::integer * 3 AS fl_test_not_prepared"
    assert run(sql, [3]) == [(9,)]
    assert prepared_here("fl_test_not_prepared") == 0
