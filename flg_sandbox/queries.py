"""The API's reads and writes, in SQL written once per process.

The sandbox stands in for FLG in the bench, where every millisecond it spends on a call is
counted as the portal's (beyond the injected latency). Building the same few queries through
the ORM on every call cost more CPU than running them, and reading the fault, the key, the type
and the lead one by one cost five round trips where one does.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from flg_sandbox.models import AccessKey, AppointmentType, Fault, Lead


@dataclass(frozen=True)
class CallRead:
    """What a call to the API needs from the database, as it stood when the call arrived."""

    fault: Fault
    key_allows: bool | None  # None: no such key
    type_id: uuid.UUID | None  # None: not a UUID, or no such type
    type_group_id: int | None
    lead: Lead | None  # its id, lead id and lead group only


def _column(model: type[models.Model], name: str) -> str:
    return _quoted(model._meta.get_field(name))


def _quoted(field: Any) -> str:
    return connection.ops.quote_name(field.column)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _call_sql() -> str:
    # One row whatever matches: each table joins on its unique column, or not at all.
    col = _column
    return f"""
        SELECT f.{col(Fault, "mode")}, f.{col(Fault, "latency_ms")},
               f.{col(Fault, "hang_seconds")}, f.{col(Fault, "times")},
               k.{col(AccessKey, "allow_appointments")},
               t.{col(AppointmentType, "id")}, t.{col(AppointmentType, "lead_group_id")},
               l.{col(Lead, "id")}, l.{col(Lead, "lead_id")}, l.{col(Lead, "lead_group_id")}
        FROM (SELECT 1 AS one) one
        LEFT JOIN {_table(Fault)} f ON f.{col(Fault, "id")} = 1
        LEFT JOIN {_table(AccessKey)} k ON k.{col(AccessKey, "key")} = %s
        LEFT JOIN {_table(AppointmentType)} t ON t.{col(AppointmentType, "id")} = %s
        LEFT JOIN {_table(Lead)} l ON l.{col(Lead, "lead_id")} = %s
    """  # noqa: S608 (only the models' own table and column names; values are parameters)


def call_read(*, key: str | None, lead_id: str | None, type_id: uuid.UUID | None) -> CallRead:
    """The fault row (its defaults when there is none yet), the key, the type and the lead."""
    type_pk: Any = AppointmentType._meta.pk
    type_value = type_pk.get_db_prep_value(type_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_call_sql(), [key, type_value, lead_id])
        row = cursor.fetchone()
    mode, latency_ms, hang_seconds, times, allows, type_found, type_group, lead_pk = row[:8]
    fault = Fault(pk=1)
    if mode is not None:
        fault = Fault(
            pk=1, mode=mode, latency_ms=latency_ms, hang_seconds=hang_seconds, times=times
        )
    lead = None
    if lead_pk is not None:
        lead = Lead(pk=lead_pk, lead_id=row[8], lead_group_id=row[9])
    return CallRead(
        fault=fault,
        key_allows=None if allows is None else bool(allows),
        type_id=type_id if type_found is not None else None,
        type_group_id=type_group,
        lead=lead,
    )


@functools.cache
def _insert_sql(model: type[models.Model]) -> tuple[str, tuple[Any, ...]]:
    fields = tuple(f for f in model._meta.concrete_fields if f is not model._meta.auto_field)
    columns = ", ".join(_quoted(f) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {_table(model)} ({columns}) VALUES ({marks})"  # noqa: S608 (as above)
    return sql, fields


def insert(*rows: models.Model) -> None:
    """INSERT new rows as save() would, without reading their ids back (no caller needs them).

    On PostgreSQL the statements go in one message: one round trip and one commit, where two
    took twice the wall time and half again the server's CPU; elsewhere, one by one.
    """
    statements, values = [], []
    for row in rows:
        sql, fields = _insert_sql(type(row))
        statements.append(sql)
        values.append([f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields])
    with connection.cursor() as cursor:
        if _several_at_once():
            cursor.execute("; ".join(statements), [value for each in values for value in each])
            return
        for sql, params in zip(statements, values, strict=True):
            cursor.execute(sql, params)


def _several_at_once() -> bool:
    # Django's PostgreSQL cursor binds on the client (unless server_side_binding), and sends a
    # query by the simple protocol, which takes several statements as one transaction.
    options = connection.settings_dict["OPTIONS"]
    return connection.vendor == "postgresql" and options.get("server_side_binding") is not True
