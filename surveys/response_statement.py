"""A survey response written in one statement (PostgreSQL).

Storing a response was seven round trips to PostgreSQL: the survey, ``BEGIN``, the
response's ``INSERT``, its feedback rows', its answers', the survey row lock and
``COMMIT``. Each round trip costs both sides CPU (the client's send and receive, the
backend's protocol and executor start-up) on top of the work itself: for a response
about a third of its database CPU. Here the lock and the three inserts are one statement
with data-modifying ``WITH`` clauses, which needs no transaction of its own (one
statement is atomic)::

    WITH s AS (SELECT status, … FROM surveys_survey WHERE id = … FOR SHARE),
         r AS (INSERT INTO surveys_response (…) SELECT … FROM s
               WHERE <s still takes the response: open, in its window, same questions, no quota>
               RETURNING id),
         f AS (INSERT INTO feedback_feedback (…) SELECT …, r.id::text || ':why', … FROM r, (VALUES …) v
               RETURNING id, external_id),
         a AS (INSERT INTO surveys_answer (…) SELECT …, r.id, (SELECT id FROM f WHERE …) FROM r, (VALUES …) v
               RETURNING id)
    SELECT s.*, (SELECT id FROM r), ARRAY(SELECT id FROM f ORDER BY id), ARRAY(SELECT id FROM a ORDER BY id) FROM s

The checks the separate statements made on the locked survey row (the caller's rule,
``surveys.services``) are the ``WHERE`` of the response's insert; the feedback rows and answers are inserted for each response row
inserted, so a refused response writes nothing, and the caller learns why from the row
the statement returns. The lock is the one the separate statements took (``FOR SHARE``:
edits and closing wait for it, and it for them; a close or a question edit that
committed while the statement waited is what it reads, PostgreSQL re-reading a locked
row's newest version).

The feedback rows get their external ids (``<response id>:<question key>``) and the
answers their response and feedback from the rows the statement itself inserts; identity
keys are handed out in the order of the ``VALUES`` lists, so ``ORDER BY id`` gives each
object its key. Values are cast to their columns' types (a ``VALUES`` list in a
``SELECT`` does not take them from the insert's columns).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from feedback.inserts import execute_prepared, insert_columns, row_values
from feedback.models import Feedback

from .models import Answer, Response

# Statements are prepared per shape (feedback rows, answers); longer responses are sent
# as plain statements so a connection keeps a bounded number of them.
MAX_PREPARED_ANSWERS = 20

_statements: dict[tuple[str, int, int], str] = {}


def _statement(state_sql: str, condition: str, feedback_count: int, answer_count: int) -> str:
    key = (state_sql, condition, feedback_count, answer_count)
    sql = _statements.get(key)
    if sql is not None:
        return sql
    response_head, response_fields = insert_columns(Response)
    feedback_head, feedback_fields = insert_columns(Feedback)
    answer_head, answer_fields = insert_columns(Answer)
    response_values = ", ".join(f"%s::{f.db_type(connection)}" for f in response_fields)
    clauses = [
        f"s AS ({state_sql} FOR SHARE)",
        f"r AS ({response_head} SELECT {response_values} FROM s WHERE {condition} RETURNING id)",
    ]
    answer_special = {"response_id": "r.id"}
    if feedback_count:
        select, values = _values_list(
            feedback_fields, feedback_count, {"external_id": "r.id::text || {v}"}
        )
        clauses.append(
            f"f AS ({feedback_head} SELECT {select} FROM r, {values} RETURNING id, external_id)"
        )
        answer_special["feedback_id"] = (
            "(SELECT f.id FROM f WHERE f.external_id = r.id::text || {v})"
        )
    if answer_count:  # (a response may answer nothing: every question optional)
        select, values = _values_list(answer_fields, answer_count, answer_special)
        clauses.append(f"a AS ({answer_head} SELECT {select} FROM r, {values} RETURNING id)")
    none = "'{}'::bigint[]"
    feedback_ids = "ARRAY(SELECT id FROM f ORDER BY id)" if feedback_count else none
    answer_ids = "ARRAY(SELECT id FROM a ORDER BY id)" if answer_count else none
    sql = (
        "WITH "
        + ", ".join(clauses)
        + f" SELECT s.*, (SELECT id FROM r), {feedback_ids}, {answer_ids} FROM s"
    )
    _statements[key] = sql
    return sql


def _values_list(fields, rows: int, special: dict[str, str]) -> tuple[str, str]:
    """The select list and ``(VALUES …) AS v(…)`` for ``rows`` rows of ``fields``: a
    field's own value, cast to its column's type, or the SQL ``special`` gives for its
    attname, where ``{v}`` stands for a value sent as text (none is sent without it)."""
    names, casts, select = [], [], []
    for field in fields:
        sql = special.get(field.attname)
        if sql is not None and "{v}" not in sql:
            select.append(sql)
            continue
        name = f"c{len(names)}"
        names.append(name)
        casts.append("%s::text" if sql is not None else f"%s::{field.db_type(connection)}")
        select.append(sql.format(v=f"v.{name}") if sql is not None else f"v.{name}")
    row = "(" + ", ".join(casts) + ")"
    values = f"(VALUES {', '.join([row] * rows)}) AS v({', '.join(names)})"
    return ", ".join(select), values


def _params(obj, fields, special: dict[str, object]) -> list[object]:
    """``obj``'s values in the order of ``_values_list``: ``special`` gives the value
    sent for a field (``_NOT_SENT``: none)."""
    out: list[object] = []
    for field, value in zip(fields, row_values(obj), strict=True):
        value = special.get(field.attname, value)
        if value is not _NOT_SENT:
            out.append(value)
    return out


_NOT_SENT = object()


def store(
    *,
    response: Response,
    feedback: Sequence[tuple[Feedback, str]],
    answers: Sequence[tuple[Answer, str | None]],
    state: tuple[str, list, tuple[str, ...]],
    condition: tuple[str, list],
) -> tuple[dict | None, bool]:
    """Insert ``response``, its ``feedback`` (each with the question key its external id
    ends in) and its ``answers`` (each with the key of its feedback row, or None) if the
    survey's row, read by ``state`` (the SQL, parameters and column names of a
    ``values()`` query of the survey) and locked ``FOR SHARE``, meets ``condition`` (SQL
    on that row, named ``s``, and its parameters: the caller's rule of whether the survey
    takes the response). Every object stored gets its primary key, relations and
    external id as ``insert_rows`` would give them.

    Returns the survey's state as the statement read it (None when the survey is gone)
    and whether the rows were stored.
    """
    state_sql, state_params, state_names = state
    condition_sql, condition_params = condition
    _, response_fields = insert_columns(Response)
    _, feedback_fields = insert_columns(Feedback)
    _, answer_fields = insert_columns(Answer)
    params = list(state_params)
    params += _params(response, response_fields, {})
    params += condition_params
    for row, key in feedback:
        params += _params(row, feedback_fields, {"external_id": f":{key}"})
    special: dict[str, object] = {"response_id": _NOT_SENT}
    for row, feedback_key in answers:
        if feedback:
            special["feedback_id"] = f":{feedback_key}" if feedback_key else None
        params += _params(row, answer_fields, special)
    sql = _statement(state_sql, condition_sql, len(feedback), len(answers))
    with connection.cursor() as cursor:
        if len(answers) <= MAX_PREPARED_ANSWERS:
            execute_prepared(cursor, sql, params)
        else:
            cursor.execute(sql, params)
        result = cursor.fetchone()
    if result is None:
        return None, False
    survey_state = dict(zip(state_names, result[: len(state_names)], strict=True))
    response_id, feedback_ids, answer_ids = result[len(state_names) :]
    if response_id is None:
        return survey_state, False
    alias = connection.alias
    _saved(response, response_id, alias)
    by_key = {}
    for (row, key), pk in zip(feedback, feedback_ids, strict=True):
        row.external_id = f"{response_id}:{key}"
        _saved(row, pk, alias)
        by_key[key] = row
    for (row, feedback_key), pk in zip(answers, answer_ids, strict=True):
        row.response = response
        if feedback_key:
            row.feedback = by_key[feedback_key]
        _saved(row, pk, alias)
    return survey_state, True


def _saved(obj, pk: int, alias: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias
