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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

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


def insert_rows(objs: Sequence[models.Model]) -> None:
    """Insert new, unsaved ``objs`` (one model) and give each its primary key.

    The statement and the value preparers of a model are built once per process (for a
    survey response's three inserts that was half their Python time), and only related
    objects assigned before they were saved are checked.
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
                params.extend([p(obj) for p in plan.prepare])
            cursor.execute(plan.head + ", ".join([plan.one_row] * len(chunk)) + plan.tail, params)
            # PostgreSQL returns the rows of a multi-row VALUES insert in order.
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = db.alias
