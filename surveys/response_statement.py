"""A survey response written in one statement (PostgreSQL).

Storing a response was seven round trips to PostgreSQL: the survey, ``BEGIN``, the
response's ``INSERT``, its feedback rows', its answers', the survey row lock and
``COMMIT``. Each round trip costs both sides CPU (the client's send and receive, the
backend's protocol and executor start-up) on top of the work itself; for a response those
were about a third of its database CPU. Here the three inserts and the lock are one
statement with data-modifying ``WITH`` clauses::

    WITH r AS (INSERT INTO surveys_response … RETURNING id),
         f AS (INSERT INTO feedback_feedback … (SELECT id::text FROM r) || ':why' … RETURNING id, external_id),
         a AS (INSERT INTO surveys_answer … (SELECT id FROM r), (SELECT id FROM f WHERE …) … RETURNING id),
         s AS (SELECT status, … FROM surveys_survey WHERE id = … FOR SHARE)
    SELECT s.*, (SELECT id FROM r), ARRAY(SELECT id FROM f ORDER BY id), ARRAY(SELECT id FROM a ORDER BY id) FROM s

The caller runs it inside its transaction and checks the survey's state it returns before
committing, so the guarantees are those of the separate statements: the row lock is held
to the commit, and a close or a question edit that committed while the statement waited
for the lock is what the statement reads (PostgreSQL re-reads a locked row's newest
version). Every row is written or none (one statement), and a refused response rolls
the transaction back.

The response's feedback rows get their external ids (``<response id>:<question key>``)
and the answers their response and feedback from the rows the statement itself inserts;
identity keys are handed out in the order of the ``VALUES`` lists, so ``ORDER BY id``
gives each object its key.
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


def _values(columns: list[str], overrides: dict[str, str]) -> str:
    return "(" + ", ".join(overrides.get(c, "%s") for c in columns) + ")"


def _statement(lock_sql: str, feedback_count: int, answer_count: int) -> str:
    key = (lock_sql, feedback_count, answer_count)
    sql = _statements.get(key)
    if sql is not None:
        return sql
    response_head, response_columns = insert_columns(Response)
    feedback_head, feedback_columns = insert_columns(Feedback)
    answer_head, answer_columns = insert_columns(Answer)
    clauses = [f"r AS ({response_head} VALUES {_values(response_columns, {})} RETURNING id)"]
    answer_overrides = {"response_id": "(SELECT id FROM r)"}
    if feedback_count:
        row = _values(feedback_columns, {"external_id": "(SELECT id::text FROM r) || %s"})
        clauses.append(
            f"f AS ({feedback_head} VALUES {', '.join([row] * feedback_count)}"
            " RETURNING id, external_id)"
        )
        answer_overrides["feedback_id"] = (
            "(SELECT id FROM f WHERE external_id = (SELECT id::text FROM r) || %s)"
        )
    row = _values(answer_columns, answer_overrides)
    clauses.append(f"a AS ({answer_head} VALUES {', '.join([row] * answer_count)} RETURNING id)")
    clauses.append(f"s AS ({lock_sql})")
    feedback_ids = "ARRAY(SELECT id FROM f ORDER BY id)" if feedback_count else "'{}'::bigint[]"
    sql = (
        "WITH "
        + ", ".join(clauses)
        + f" SELECT s.*, (SELECT id FROM r), {feedback_ids}, ARRAY(SELECT id FROM a ORDER BY id)"
        + " FROM s"
    )
    _statements[key] = sql
    return sql


def _params(obj, columns: list[str], overrides: dict[str, object]) -> list[object]:
    values = row_values(obj)
    out: list[object] = []
    for column, value in zip(columns, values, strict=True):
        if column in overrides:
            replacement = overrides[column]
            if replacement is not _NO_PARAMETER:
                out.append(replacement)
        else:
            out.append(value)
    return out


_NO_PARAMETER = object()


def store(
    *,
    response: Response,
    feedback: Sequence[tuple[Feedback, str]],
    answers: Sequence[tuple[Answer, str | None]],
    lock: tuple[str, list, tuple[str, ...]],
) -> dict | None:
    """Insert ``response``, its ``feedback`` (each with the question key its external id
    ends in) and its ``answers`` (each with the key of its feedback row, or None) and lock
    the survey row with ``lock`` (the SQL, parameters and column names of a ``values()``
    query ending in a row lock), in the caller's transaction. Every object gets its
    primary key, relations and external id as ``insert_rows`` would give them.

    Returns the locked survey row as a dict, or None when the survey is gone (then
    nothing is known about the rows: the caller rolls back).
    """
    lock_sql, lock_params, lock_names = lock
    _, response_columns = insert_columns(Response)
    _, feedback_columns = insert_columns(Feedback)
    _, answer_columns = insert_columns(Answer)
    params = _params(response, response_columns, {})
    for row, key in feedback:
        params += _params(row, feedback_columns, {"external_id": f":{key}"})
    answer_overrides: dict[str, object] = {"response_id": _NO_PARAMETER}
    for row, feedback_key in answers:
        if feedback:
            answer_overrides["feedback_id"] = f":{feedback_key}" if feedback_key else None
        params += _params(row, answer_columns, answer_overrides)
    params += lock_params
    sql = _statement(lock_sql, len(feedback), len(answers))
    with connection.cursor() as cursor:
        if len(answers) <= MAX_PREPARED_ANSWERS:
            execute_prepared(cursor, sql, params)
        else:
            cursor.execute(sql, params)
        result = cursor.fetchone()
    if result is None:
        return None
    state = dict(zip(lock_names, result[: len(lock_names)], strict=True))
    response_id, feedback_ids, answer_ids = result[len(lock_names) :]
    _saved(response, response_id)
    by_key = {}
    for (row, key), pk in zip(feedback, feedback_ids, strict=True):
        row.external_id = f"{response_id}:{key}"
        _saved(row, pk)
        by_key[key] = row
    for (row, feedback_key), pk in zip(answers, answer_ids, strict=True):
        row.response = response
        if feedback_key:
            row.feedback = by_key[feedback_key]
        _saved(row, pk)
    return state


def _saved(obj, pk: int) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
