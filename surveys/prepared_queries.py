"""Querysets of the respondent's path, compiled to SQL once per process and connection.

Building a queryset and compiling it (lookups, the select list, quoting) costs more CPU
than PostgreSQL spends running these one-row statements: fetching the survey and taking
its row lock were a quarter of a survey response's request. A ``PreparedQuery`` compiles
its queryset the first time a connection runs it and keeps the SQL, where each argument
goes among the parameters, and the converters the backend needs (SQLite's datetimes,
JSON); later calls bind the arguments and run the SQL. The rows, types and model
instances are those the queryset itself gives.

On PostgreSQL the SQL also runs as a server-side prepared statement
(``feedback.inserts.execute_prepared``): the backend parses and plans it once per
connection instead of on every request.

Only for fixed querysets whose arguments are plain values; a ``select_for_update`` one
must run inside a transaction (Django checks that when compiling, so on first use only).
Django's ORM has no ``FOR SHARE``: with ``share_lock=True`` the lock clause of a
``select_for_update(no_key=True)`` queryset is compiled as ``FOR SHARE`` instead (on
databases without row locks, SQLite, there is no clause to change).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesIterable

from feedback.inserts import execute_prepared

# Arguments a queryset is compiled with, found again among the compiled parameters.
# (Inside a 32-bit integer column's range: Django compiles a lookup outside it to nothing.)
_MARKERS = (-1_731_000_001, -1_731_000_002, -1_731_000_003)
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
_TEXT_MARKERS = ("\x01marker-1\x01", "\x01marker-2\x01", "\x01marker-3\x01")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    positions: tuple[int, ...]
    compiler: object
    converters: dict
    names: tuple[str, ...]
    model_slice: slice | None


_NO_KEY_UPDATE = " FOR NO KEY UPDATE"


def _as_share_lock(sql: str) -> str:
    """``… FOR NO KEY UPDATE`` as ``… FOR SHARE``; unchanged without a lock clause."""
    if sql.endswith(_NO_KEY_UPDATE):
        return sql[: -len(_NO_KEY_UPDATE)] + " FOR SHARE"
    if " FOR " in sql:
        raise ValueError(f"share_lock takes a select_for_update(no_key=True) queryset: {sql}")
    return sql


class PreparedQuery:
    """``build(*arguments)`` returns the queryset (model instances or ``values()``);
    ``kinds`` says per argument whether it is an ``int`` or a ``str``."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *kinds: type,
        using: str = "default",
        share_lock: bool = False,
    ):
        if not all(kind in (int, str) for kind in kinds):
            raise TypeError("PreparedQuery arguments are int or str")
        self._build = build
        self._share_lock = share_lock
        self._markers = tuple(
            (_MARKERS if kind is int else _TEXT_MARKERS)[i] for i, kind in enumerate(kinds)
        )
        self._using = using
        self._compiled_for: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _compile(self) -> _Compiled:
        queryset = self._build(*self._markers)
        compiler = queryset.query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()
        if self._share_lock:
            sql = _as_share_lock(sql)
        positions = []
        for marker in self._markers:
            found = [i for i, p in enumerate(params) if p == marker]
            if len(found) != 1:
                raise ValueError(f"argument {marker!r} is not one parameter of {sql}")
            positions.append(found[0])
        columns = [s[0] for s in compiler.select[: compiler.col_count]]
        model_slice = None
        if queryset._iterable_class is ModelIterable:
            fields = compiler.klass_info["select_fields"]
            model_slice = slice(fields[0], fields[-1] + 1)
            names = tuple(s[0].target.attname for s in compiler.select[model_slice])
        elif queryset._iterable_class is ValuesIterable:
            query = queryset.query
            names = (*query.extra_select, *query.values_select, *query.annotation_select)
        else:
            raise TypeError("PreparedQuery takes a queryset of instances or of values()")
        return _Compiled(
            sql=sql,
            params=tuple(params),
            positions=tuple(positions),
            compiler=compiler,
            converters=compiler.get_converters(columns),
            names=names,
            model_slice=model_slice,
        )

    def _bind(self, args: tuple) -> tuple[_Compiled, list]:
        connection = connections[self._using]
        compiled = self._compiled_for.get(connection)
        if compiled is None:
            compiled = self._compiled_for[connection] = self._compile()
        params = list(compiled.params)
        for position, value in zip(compiled.positions, args, strict=True):
            params[position] = value
        return compiled, params

    def _rows(self, args: tuple) -> tuple[_Compiled, list]:
        compiled, params = self._bind(args)
        with connections[self._using].cursor() as cursor:
            execute_prepared(cursor, compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return compiled, rows

    def statement(self, *args) -> tuple[str, list, tuple[str, ...]]:
        """The compiled SQL, its parameters with ``args`` bound and the names of its
        columns, to run inside a larger statement (the database's own values: no
        converters are applied)."""
        compiled, params = self._bind(args)
        return compiled.sql, params, compiled.names

    def first(self, *args) -> Model | dict | None:
        """The first row as the queryset gives it (an instance, or a dict for
        ``values()``), or None."""
        if any(type(a) is int and not _BIGINT_MIN <= a <= _BIGINT_MAX for a in args):
            return None  # no row has such a key (and the database would refuse the number)
        compiled, rows = self._rows(args)
        if not rows:
            return None
        row = rows[0]
        if compiled.model_slice is None:
            return dict(zip(compiled.names, row, strict=True))
        model = compiled.compiler.klass_info["model"]
        return model.from_db(self._using, list(compiled.names), row[compiled.model_slice])
