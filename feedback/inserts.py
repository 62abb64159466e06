"""New rows in one ``INSERT … RETURNING id``, without the ORM's per-value preparation.

Django's insert compiler asks every field of every row to prepare its value
(``pre_save``, ``get_db_prep_save``, the backend's adapter): for a feedback row of 27
columns that was about a tenth of an API create and most of a review import's Python
time. On PostgreSQL, values psycopg2 adapts by itself (text, numbers, booleans, dates,
``None``) are passed as they are; anything else (JSON, enums of other types, expressions)
still goes through the field. Elsewhere (the embedded SQLite default) this is
``bulk_create``.

Like ``bulk_create``: no ``pre_save``/``post_save`` signals, objects get their primary
keys and are marked saved.

``execute_prepared`` runs a statement as a server-side prepared statement on PostgreSQL
(parsed and planned once per connection); ``insert_rows(..., prepared=True)`` uses it for
a model's small inserts on a hot path.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Field classes whose get_db_prep_save() returns a value of these types unchanged on
# PostgreSQL (psycopg2 adapts them itself).
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BigIntegerField,
    models.BooleanField,
    models.FloatField,
    models.DecimalField,
    models.DateTimeField,
    models.DateField,
    models.ForeignKey,
)
_NATIVE = frozenset({str, int, float, bool, type(None), Decimal, dt.datetime, dt.date})
# PostgreSQL takes at most 65,535 parameters per statement.
_MAX_PARAMETERS = 60_000
# insert_rows(prepared=True) prepares one statement per model and row count up to this
# many rows (a connection keeps each); more rows go as a plain statement.
_MAX_PREPARED_ROWS = 50


def _preparer(field: models.Field) -> Callable[[models.Model], object]:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    attname = field.attname
    if isinstance(field, _PLAIN_FIELDS) and not isinstance(field, models.JSONField):

        def plain(obj):
            value = getattr(obj, attname)
            if type(value) in _NATIVE:
                return value
            if isinstance(value, Enum):
                # A choices member (the status default): its plain value, which psycopg2
                # adapts directly instead of looking up an adapter for the subclass.
                return value.value
            return field.get_db_prep_save(field.pre_save(obj, True), connection)

        return plain
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


@dataclass(frozen=True)
class _Plan:
    fields: list[models.Field]
    prepare: list[Callable[[models.Model], object]]
    relations: list[models.Field]
    head: str
    one_row: str
    tail: str


# Per model, built the first time insert_rows inserts its rows.
_plans: dict[type[models.Model], _Plan] = {}


def _plan(model: type[models.Model]) -> _Plan:
    plan = _plans.get(model)
    if plan is None:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.generated and f is not meta.auto_field]
        qn = connection.ops.quote_name
        plan = _plans[model] = _Plan(
            fields=fields,
            prepare=[_preparer(f) for f in fields],
            relations=[f for f in fields if f.is_relation],
            head=(
                f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
                " VALUES "
            ),
            one_row="(" + ", ".join(["%s"] * len(fields)) + ")",
            tail=f" RETURNING {qn(meta.pk.column)}",
        )
    return plan


def insert_columns(model: type[models.Model]) -> tuple[str, list[models.Field]]:
    """``INSERT INTO <table> (<columns>)`` as ``insert_rows`` writes it for ``model``, and
    the fields of those columns in order (for statements that insert rows of several
    models at once)."""
    plan = _plan(model)
    return plan.head.removesuffix(" VALUES "), list(plan.fields)


def row_values(obj: models.Model) -> list[object]:
    """The values ``insert_rows`` sends for ``obj``, in the order of ``insert_columns``
    (a relation to an object not saved yet is None)."""
    return [prepare(obj) for prepare in _plan(type(obj)).prepare]


# Statement text → its name, the same on every connection of the process (names come
# from a counter, so two threads never give one name to two statements).
_statement_names: dict[str, str] = {}
_statement_numbers = itertools.count(1)
# psycopg2 connection → names of the statements prepared on it. Keyed by the driver's
# connection, not Django's wrapper: a reconnect starts with none.
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%([s%])")


def execute_prepared(cursor, sql: str, params: Sequence[object]) -> None:
    """Run ``sql`` (``%s`` placeholders, ``%%`` for a percent sign, as Django writes it)
    with ``params`` on ``cursor``; on PostgreSQL as a server-side prepared statement
    (elsewhere as it is): PostgreSQL parses and plans it once per connection (a survey
    response's one-row statements spent about a fifth of their backend CPU on that),
    and later runs only bind the values. The ``PREPARE`` goes through the driver's own
    cursor, once per connection, so query counts stay the same from the first run on.

    For a fixed statement whose parameters take their types from where they stand (a
    column, a comparison with a column): the statement is prepared with the types
    PostgreSQL infers for them.
    """
    if cursor.db.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    name = _statement_names.get(sql)
    if name is None:
        name = _statement_names.setdefault(sql, f"fl_stmt_{next(_statement_numbers)}")
    raw = cursor.db.connection
    prepared = _prepared_on.get(raw)
    if prepared is None:
        prepared = _prepared_on.setdefault(raw, set())
    if name not in prepared:
        numbers = itertools.count(1)
        body = _PLACEHOLDER.sub(lambda m: f"${next(numbers)}" if m[1] == "s" else "%", sql)
        with cursor.db.wrap_database_errors:
            cursor.cursor.execute(f"PREPARE {name} AS {body}")
        prepared.add(name)
    if params:
        cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
    else:
        cursor.execute(f"EXECUTE {name}")


def insert_rows(objs: Sequence[models.Model], *, prepared: bool = False) -> None:
    """Insert new, unsaved ``objs`` (one model) and give each its primary key.

    The statement and the value preparers of a model are built once per process (for a
    survey response's three inserts that was half their Python time), and only related
    objects assigned before they were saved are checked. ``prepared``: on PostgreSQL, a
    statement of up to ``_MAX_PREPARED_ROWS`` rows runs through ``execute_prepared``
    (for hot paths that insert a few rows at a time; the connection keeps one statement
    per model and row count).
    """
    if not objs:
        return
    model = type(objs[0])
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        model._base_manager.bulk_create(objs)
        return
    plan = _plan(model)
    per_statement = max(1, _MAX_PARAMETERS // len(plan.prepare))
    with db.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params: list[object] = []
            for obj in chunk:
                # An object assigned before it was saved: take its key now (or refuse).
                if any(
                    getattr(obj, f.attname) is None and f.get_cached_value(obj, None) is not None
                    for f in plan.relations
                ):
                    obj._prepare_related_fields_for_save(operation_name="save")
                params.extend(row_values(obj))
            sql = plan.head + ", ".join([plan.one_row] * len(chunk)) + plan.tail
            if prepared and len(chunk) <= _MAX_PREPARED_ROWS:
                execute_prepared(cursor, sql, params)
            else:
                cursor.execute(sql, params)
            # PostgreSQL returns the rows of a multi-row VALUES insert in order.
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = db.alias
