"""Writing thousands of rows at once, for imports: Django's bulk_create, or COPY on PostgreSQL.

The psycopg backend binds parameters on the client, quoting each into the statement's text: for
35,000 new accounts and customers (500,000 values) that alone took longer than the rest of an
import together. COPY sends the rows as data instead. Here rather than in one app because the
account rules (accounts.services) and the CSV import (appointments.importing) both need it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def rows_insert(objs: list[M], *, key: str, batch_size: int = 1000) -> list[M]:
    """Insert new, unsaved instances of one model and give each its primary key.

    `key` names a unique field whose values tell the new rows apart (a user name; a customer's
    user), by which the keys are read back after a COPY.
    """
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return list(model._default_manager.bulk_create(objs, batch_size=batch_size))
    meta, quote = model._meta, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    key_field = meta.get_field(key)
    key_column, pk_column = str(getattr(key_field, "column", key)), str(meta.pk.column)
    table = quote(str(meta.db_table))
    columns = ", ".join(quote(str(f.column)) for f in fields)
    keys = [getattr(obj, getattr(key_field, "attname", key)) for obj in objs]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
        raw.execute(
            f"SELECT {quote(key_column)}, {quote(pk_column)} FROM {table} "  # noqa: S608
            f"WHERE {quote(key_column)} = ANY(%s)",
            [keys],
        )
        pks: dict[Any, Any] = dict(raw.fetchall())
    for obj, value in zip(objs, keys, strict=True):
        obj.pk = pks[value]
        obj._state.adding, obj._state.db = False, connection.alias
    return objs
