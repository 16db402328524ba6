"""Querysets whose SQL the ORM builds once per process, then run with each request's values.

The pages every signed-in request reads (the user, their session, the types they may book)
ask the same question each time with a different id. Building that SELECT (resolving lookups,
joins, select_related) cost the ORM several times what PostgreSQL takes to answer it: 0.54 ms
of CPU for the user's read against 0.1 ms run precompiled. So the queryset is built once, with
placeholder values, and its SQL and the ORM's own row-to-model machinery are kept; each call
swaps the placeholders for its values and runs the SQL.

A placeholder must reach the SQL as a parameter of its own: a value the ORM folds into the
SQL (None becomes IS NULL) or rewrites cannot be found, and building says so at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models import query as orm_query

M = TypeVar("M", bound=Model)

# How a value reaches the database driver, by kind: as it is, or as Django adapts it.
_ADAPT: dict[str, Callable[[Any, Any], Any]] = {
    "value": lambda value, connection: value,
    "datetime": lambda value, connection: connection.ops.adapt_datetimefield_value(value),
    "date": lambda value, connection: connection.ops.adapt_datefield_value(value),
    "uuid": lambda value, connection: (
        value if connection.features.has_native_uuid_field else value.hex
    ),
}


def _kinds(sample: object) -> list[str]:
    if isinstance(sample, dt.datetime):
        return ["datetime", "value"]
    if isinstance(sample, dt.date):
        return ["date", "value"]
    if isinstance(sample, uuid.UUID):
        return ["uuid", "value"]
    return ["value"]


_related_populators: Any = orm_query.get_related_populators


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, str], ...]  # (parameter index, placeholder name, kind)
    model: type[Model]
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]
    converters: dict[int, tuple[list[Any], Any]]
    annotations: dict[str, int]


class Precompiled(Generic[M]):
    """`build(**placeholders)` is the queryset; `all(**values)` runs it with the values.

    Placeholders are values no real call uses (a negative id, an impossible key): they mark
    where each value goes. The SQL is built on first use per database, by whichever thread
    gets there first; a second thread building it too is harmless.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **placeholders: object) -> None:
        self._build = build
        self._placeholders = placeholders
        self._compiled: dict[str, _Compiled] = {}

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: object) -> list[M]:
        compiled = self._compiled.get(using) or self._compile(using)
        connection = connections[using]
        params = list(compiled.params)
        for index, name, kind in compiled.slots:
            params[index] = _ADAPT[kind](values[name], connection)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [self._instance(compiled, row, using, connection) for row in rows]

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: object) -> M | None:
        found = self.all(using=using, **values)
        return found[0] if found else None

    @staticmethod
    def _instance(compiled: _Compiled, row: Any, using: str, connection: Any) -> Any:
        if compiled.converters:
            row = list(row)
            for position, (converters, expression) in compiled.converters.items():
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
        instance = compiled.model.from_db(
            using, compiled.init_list, row[compiled.start : compiled.end]
        )
        for populator in compiled.populators:
            populator.populate(row, instance)
        for name, position in compiled.annotations.items():
            setattr(instance, name, row[position])
        return instance

    def _compile(self, using: str) -> _Compiled:
        # The ORM's own machinery, of which django-stubs describes another version's.
        queryset: Any = self._build(**self._placeholders)
        plain = queryset._iterable_class is orm_query.ModelIterable
        if not plain or queryset._prefetch_related_lookups:
            raise TypeError("Precompiled takes a plain queryset of model instances.")
        compiler = queryset.query.get_compiler(using=using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            raise ValueError(
                f"The ORM finds nothing for the placeholders {self._placeholders!r} without "
                "asking the database (a value out of the field's range?): choose others."
            ) from None
        connection = connections[using]
        slots = []
        for name, sample in self._placeholders.items():
            found = [
                (index, name, kind)
                for kind in _kinds(sample)
                for index, param in enumerate(params)
                if type(param) is type(_ADAPT[kind](sample, connection))
                and param == _ADAPT[kind](sample, connection)
            ]
            if not found:
                raise ValueError(f"The placeholder {name}={sample!r} is not a parameter of {sql}")
            slots += found
        klass_info = compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        compiled = _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            model=klass_info["model"],
            init_list=[column[0].target.attname for column in compiler.select[first:last]],
            start=first,
            end=last,
            populators=_related_populators(klass_info, compiler.select, using),
            converters=compiler.get_converters([column[0] for column in compiler.select]),
            annotations=dict(compiler.annotation_col_map),
        )
        self._compiled[using] = compiled
        return compiled
