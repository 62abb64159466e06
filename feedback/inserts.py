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
import functools
import itertools
import operator
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


def _preparer(field: models.Field) -> tuple[Callable[[models.Model], object], bool]:
    """How to get ``field``'s value for the insert, and whether it must always be
    prepared (otherwise a value of a ``_NATIVE`` type is sent as it is)."""

    def prepared(obj):
        return field.get_db_prep_save(field.pre_save(obj, True), connection)

    def automatic(obj):
        value = field.pre_save(obj, True)  # now, aware: psycopg2 takes it as it is
        return value if type(value) in _NATIVE else field.get_db_prep_save(value, connection)

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return automatic, True
    if not isinstance(field, _PLAIN_FIELDS) or isinstance(field, models.JSONField):
        return prepared, True
    attname = field.attname

    def plain(obj):
        value = getattr(obj, attname)
        if type(value) in _NATIVE:
            return value
        if isinstance(value, Enum):
            # A choices member (the status default): its plain value, which psycopg2
            # adapts directly instead of looking up an adapter for the subclass.
            return value.value
        return prepared(obj)

    return plain, False


@dataclass(frozen=True)
class _Plan:
    fields: list[models.Field]
    prepare: list[Callable[[models.Model], object]]
    # Every field's attribute at once (one C call), and the fields always prepared
    # (automatic times, JSON, fields whose values psycopg2 does not take as they are).
    get_values: Callable[[models.Model], tuple]
    always: list[tuple[int, Callable[[models.Model], object]]]
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
        preparers = [_preparer(f) for f in fields]
        plan = _plans[model] = _Plan(
            fields=fields,
            prepare=[prepare for prepare, _ in preparers],
            get_values=_attributes(*(f.attname for f in fields)),
            always=[(i, prepare) for i, (prepare, always) in enumerate(preparers) if always],
            relations=[f for f in fields if f.is_relation],
            head=(
                f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
                " VALUES "
            ),
            one_row="(" + ", ".join(["%s"] * len(fields)) + ")",
            tail=f" RETURNING {qn(meta.pk.column)}",
        )
    return plan


def new_row(model: type[models.Model], **values) -> models.Model:
    """``model(**values)``, built as Django builds a row it reads: one positional value per
    concrete field, which skips the keyword path's look-ups of every field (a feedback
    row: 28 fields, most left at their defaults). ``values`` are keyed by field name (a
    related object, cached on the row as assigning it would, or None) or by attname (a
    key); the other fields take their defaults. For rows a hot path builds by the
    thousand (imports, survey responses); no type check of related objects."""
    by_key, defaults, computed = _constructor(model)
    args = list(defaults)
    for index, field in computed:
        args[index] = field.get_default()
    related = []
    for key, value in values.items():
        try:
            index, relation = by_key[key]
        except KeyError:
            raise TypeError(f"{model.__name__} has no field {key!r}") from None
        if relation is None:
            args[index] = value
        else:
            args[index] = None if value is None else value.pk
            related.append((relation, value))
    row = model(*args)
    for relation, value in related:
        relation.set_cached_value(row, value)
    return row


@functools.cache
def _constructor(model: type[models.Model]):
    """For ``new_row``: where each name and attname goes (with the field when it takes a
    related object), the defaults that are constants, and the fields whose default is
    computed per row (a callable, a database default)."""
    fields = model._meta.concrete_fields
    by_key: dict[str, tuple[int, models.Field | None]] = {}
    defaults: list[object] = []
    computed: list[tuple[int, models.Field]] = []
    for index, field in enumerate(fields):
        by_key[field.attname] = (index, None)
        if field.is_relation:
            by_key[field.name] = (index, field)
        per_row = (field.has_default() and callable(field.default)) or field.has_db_default()
        default = None if per_row else field.get_default()
        # A choices member as its plain value (equal to it), as psycopg2 takes it.
        defaults.append(default.value if isinstance(default, Enum) else default)
        if per_row:
            computed.append((index, field))
    return by_key, defaults, computed


def insert_columns(model: type[models.Model]) -> tuple[str, list[models.Field]]:
    """``INSERT INTO <table> (<columns>)`` as ``insert_rows`` writes it for ``model``, and
    the fields of those columns in order (for statements that insert rows of several
    models at once)."""
    plan = _plan(model)
    return plan.head.removesuffix(" VALUES "), list(plan.fields)


def row_values(obj: models.Model) -> list[object]:
    """The values ``insert_rows`` sends for ``obj``, in the order of ``insert_columns``
    (a relation to an object not saved yet is None)."""
    plan = _plan(type(obj))
    values = list(plan.get_values(obj))
    if not _NATIVE.issuperset(map(type, values)):
        for index, value in enumerate(values):
            if type(value) not in _NATIVE:
                values[index] = plan.prepare[index](obj)
    for index, prepare in plan.always:
        values[index] = prepare(obj)
    return values


def _attributes(*names: str) -> Callable[[object], tuple]:
    get = operator.attrgetter(*names)
    return get if len(names) > 1 else lambda obj: (get(obj),)


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
