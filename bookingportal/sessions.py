"""Django's database sessions, with the read every request makes built once per process.

The session is read from the database on every request, on purpose: a sign-out must be final
(settings.SESSION_ENGINE). What this store saves is the ORM building the same SELECT each
time, which cost more CPU than running it (precompiled).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from precompiled import Precompiled

# A key and a moment no session has: where the request's own go.
_LIVE_SESSION: Precompiled[Session] = Precompiled(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
    key="\x00session-key",
    now=dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC),
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        try:
            found = _LIVE_SESSION.first(key=self.session_key, now=timezone.now())
        except SuspiciousOperation as error:  # as Django's own store does
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            found = None
        if found is None:
            self._session_key = None
        return found
