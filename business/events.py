"""Counting the steps customers take, for the dashboard: ids and times only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from business.models import Event

# The dashboard looks back 90 days at most; kept twice that, then deleted on the schedule.
KEEP_DAYS = 180


def event_record(
    *, kind: str, user_id: int | None = None, appointment_type_id: int | None = None
) -> None:
    Event.objects.create(
        kind=kind, at=timezone.now(), user_id=user_id, appointment_type_id=appointment_type_id
    )


def events_record(
    *, kind: str, user_ids: Iterable[int], appointment_type_id: int | None = None
) -> None:
    """One event per user, written together (a CSV of booking links)."""
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(kind=kind, at=now, user_id=user_id, appointment_type_id=appointment_type_id)
            for user_id in user_ids
        ],
        batch_size=1000,
    )


def first_sign_in_record(*, user: object) -> None:
    """Called just before a customer's account is signed in: counts only its first time."""
    if getattr(user, "last_login", True) is None and not getattr(user, "is_staff", True):
        event_record(kind=Event.Kind.FIRST_SIGN_IN, user_id=getattr(user, "pk", None))


def events_prune(*, now: dt.datetime | None = None) -> int:
    """Delete events older than KEEP_DAYS; how many went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=KEEP_DAYS)
    deleted, _ = Event.objects.filter(at__lt=cutoff).delete()
    return deleted
