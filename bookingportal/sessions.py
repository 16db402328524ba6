"""Django's database sessions, with the read every request makes built once per process.

The session is read from the database on every request, on purpose: a sign-out must be final
(settings.SESSION_ENGINE). What this store saves is the ORM building the same SELECT each
time, which cost more CPU than running it; the query is the ORM's own, compiled once.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.db import connection
from django.utils import timezone

# A key and a moment no session has: where the compiled query takes the request's own.
_KEY_PLACEHOLDER = "\x00session-key"
_MOMENT_PLACEHOLDER = dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)


@functools.cache
def _read_sql(model: Any) -> tuple[str, tuple[Any, ...]]:
    query = model.objects.filter(session_key=_KEY_PLACEHOLDER, expire_date__gt=_MOMENT_PLACEHOLDER)
    sql, params = query.query.sql_with_params()
    return sql, tuple(params)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        sql, params = _read_sql(self.model)
        moment = connection.ops.adapt_datetimefield_value
        own = {
            _KEY_PLACEHOLDER: self.session_key,
            moment(_MOMENT_PLACEHOLDER): moment(timezone.now()),
        }
        try:
            found = list(self.model.objects.raw(sql, [own.get(value, value) for value in params]))
        except SuspiciousOperation as error:  # as Django's own store does
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            found = []
        if not found:
            self._session_key = None
            return None
        return found[0]
