"""Booking use-cases: which types a customer may book, and their appointment sessions.

Session lifecycle: a start reuses an open session for the same customer and type
created within the last 30 s that is not yet due, and otherwise calls FLG once, under a
per-customer lock, so double clicks, several tabs and several workers make one FLG call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from appointments import failures, locks, metrics
from appointments.models import (
    AppointmentSession,
    AppointmentType,
    Customer,
    FlgFailure,
)
from flg import sessions
from flg.errors import FlgError
from precompiled import Precompiled

REUSE_WINDOW = dt.timedelta(seconds=30)
SESSION_RATE_WINDOW = 60
# The sliding minute is counted in steps this long (seconds; a divisor of the window).
RATE_STEP = 10


class SessionLimitReached(Exception):
    """The customer created too many sessions in a short time."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many new booking sessions; try again in {retry_after} s.")
        self.retry_after = retry_after


# Which types a customer may book, and their sessions' reads: appointments.bookable.

# --- Timing ----------------------------------------------------------------------------------


def refresh_margin() -> dt.timedelta:
    return dt.timedelta(seconds=settings.BOOKING_REFRESH_MARGIN)


def session_is_due(session: AppointmentSession, *, now: dt.datetime | None = None) -> bool:
    """True when the session closes within the refresh margin (or has closed)."""
    now = now or timezone.now()
    return session.closes_at - refresh_margin() <= now


def seconds_remaining(session: AppointmentSession, *, now: dt.datetime | None = None) -> int:
    """Whole seconds until FLG closes the session, never negative."""
    now = now or timezone.now()
    return max(0, int((session.closes_at - now).total_seconds()))


def _take_rate_slot(customer: Customer) -> None:
    """Count a new session against the customer's limit, or refuse it.

    The limit holds over a sliding minute, counted in RATE_STEP buckets: a start is refused
    when the minute's buckets (this one and the five before) hold the limit already. So no
    50 s ever hold more than the limit, a start a minute old never counts, and the turn of a
    minute does not open a second allowance (a fixed window let ten starts at 12:00:59 and ten
    at 12:01:00 through). A refused start counts for nothing: pressing again while refused
    does not push the wait further out.
    """
    now = time.time()
    step = int(now // RATE_STEP)
    steps = SESSION_RATE_WINDOW // RATE_STEP
    earlier = {s: f"session-rate:{customer.pk}:{s}" for s in range(step - steps + 1, step)}
    key = f"session-rate:{customer.pk}:{step}"
    try:
        found = cache.get_many(list(earlier.values()))
        counts = {s: int(found.get(k) or 0) for s, k in earlier.items()}
        # The customer's first start in this step makes its count (one round trip).
        counts[step] = 1 if cache.add(key, 1, SESSION_RATE_WINDOW + RATE_STEP) else cache.incr(key)
        if sum(counts.values()) <= settings.BOOKING_SESSIONS_PER_MINUTE:
            return
    except Exception:  # a cache outage must not stop bookings; the limit is a courtesy
        return
    with contextlib.suppress(Exception):  # else the refused start counts: a longer wait
        cache.decr(key)
    raise SessionLimitReached(retry_after=_rate_wait(counts, now))


def _rate_wait(counts: dict[int, int], now: float) -> int:
    """Whole seconds until one more start fits, as the oldest steps leave the minute."""
    held = sum(counts.values()) - 1  # without the start just refused
    for step in sorted(counts):
        held -= counts[step]
        if held < settings.BOOKING_SESSIONS_PER_MINUTE:
            # A step leaves the sliding minute when the minute since its start is over.
            return max(1, math.ceil(step * RATE_STEP + SESSION_RATE_WINDOW - now))
    return SESSION_RATE_WINDOW  # not reached: the loop empties the minute


# --- Use-cases -------------------------------------------------------------------------------


def _recent_query(
    customer: int,
    kind: int,
    since: dt.datetime,
    closes_after: dt.datetime,
    replaced_at: dt.datetime | None = None,
    replaced: uuid.UUID | None = None,
) -> Any:
    recent = AppointmentSession.objects.filter(
        customer_id=customer,
        appointment_type_id=kind,
        created_at__gte=since,
        closes_at__gt=closes_after,
        # A session booked on is spent: FLG has closed it.
        booked_at__isnull=True,
    )
    if replaced is not None:
        # Only a session newer than the one being replaced (another tab's refresh) will do.
        recent = recent.filter(created_at__gt=replaced_at).exclude(pk=replaced)
    return recent.order_by("-created_at")[:1]


# A start's look for a session to reuse, built once per process (placeholders no call has).
_PLACEHOLDERS: dict[str, Any] = {
    "customer": -1_730_194_801,
    "kind": -1_730_194_802,
    "since": dt.datetime(1901, 1, 1, 1, 1, 1, 101, tzinfo=dt.UTC),
    "closes_after": dt.datetime(1902, 2, 2, 2, 2, 2, 202, tzinfo=dt.UTC),
}
_RECENT = Precompiled(_recent_query, **_PLACEHOLDERS)
_RECENT_REPLACING = Precompiled(
    _recent_query,
    **_PLACEHOLDERS,
    replaced_at=dt.datetime(1903, 3, 3, 3, 3, 3, 303, tzinfo=dt.UTC),
    replaced=uuid.UUID("00000000-0000-4000-8000-00000000b00d"),
)


def _reusable_session(
    *,
    customer: Customer,
    appointment_type: AppointmentType,
    now: dt.datetime,
    replacing: AppointmentSession | None,
) -> AppointmentSession | None:
    query = _RECENT if replacing is None else _RECENT_REPLACING
    found = query.first(
        customer=customer.pk,
        kind=appointment_type.pk,
        since=now - REUSE_WINDOW,
        closes_after=now + refresh_margin(),
        replaced_at=replacing.created_at if replacing is not None else None,
        replaced=replacing.pk if replacing is not None else None,
    )
    if found is not None:
        found.appointment_type = appointment_type  # the caller's, with what it has loaded
    return found


def failure_record(
    *,
    error: FlgError,
    customer: Customer | None,
    appointment_type: AppointmentType | None,
    action: str = FlgFailure.Action.START,
) -> FlgFailure:
    """Keep an FLG failure for staff: what the customer saw, and the detail (never the key)."""
    return FlgFailure.objects.create(
        action=action,
        appointment_type=appointment_type,
        customer=customer,
        code=error.code,
        status=error.status,
        customer_message=failures.customer_message(error),
        detail=error.detail,
    )


def session_start(
    *,
    customer: Customer,
    appointment_type: AppointmentType,
    force_new: bool = False,
    replacing: AppointmentSession | None = None,
    action: str = FlgFailure.Action.START,
) -> AppointmentSession:
    """Reuse a just-created open session or create one with FLG (one call, even under races).

    With `force_new` ("start over") a fresh session is always created; `replacing` is never
    handed back (a refresh must change the session). Starts that queued behind another of the
    customer's starts share its outcome, session or failure, instead of calling FLG again.
    Raises FlgError (recorded as an FlgFailure when FLG was called) when FLG cannot create one
    and SessionLimitReached when the customer creates too many.
    """
    session, created = _session_start(
        customer=customer,
        appointment_type=appointment_type,
        force_new=force_new,
        replacing=replacing,
        action=action,
    )
    _session_count(action=action, created=created)
    return session


def _session_count(*, action: str, created: bool) -> None:
    result = "created" if created else "reused"
    if action == FlgFailure.Action.START:
        metrics.sessions_started.labels(result).inc()
    elif action in (FlgFailure.Action.PAGE, FlgFailure.Action.REFRESH):
        metrics.sessions_refreshed.labels(result).inc()
    # A staff check (verify) is neither: FLG's own call count still shows it.


def _outcome_since(
    *,
    customer: Customer,
    appointment_type: AppointmentType,
    since: dt.datetime,
    now: dt.datetime,
    replacing: AppointmentSession | None,
) -> AppointmentSession | None:
    """What the start this one queued behind came to: its session (returned), its failure
    (raised again, as the customer saw it), or nothing (None: call FLG)."""
    recent = AppointmentSession.objects.select_related("appointment_type").filter(
        customer=customer,
        appointment_type=appointment_type,
        created_at__gte=since,
        closes_at__gt=now + refresh_margin(),
        booked_at__isnull=True,
    )
    if replacing is not None:
        recent = recent.exclude(pk=replacing.pk)
    session = recent.order_by("-created_at").first()
    if session is not None:
        return session
    failure = (
        FlgFailure.objects.filter(
            customer=customer, appointment_type=appointment_type, created_at__gte=since
        )
        .order_by("-created_at")
        .first()
    )
    if failure is not None:
        raise failures.error_from_record(code=failure.code, detail=failure.detail)
    return None


def _session_start(
    *,
    customer: Customer,
    appointment_type: AppointmentType,
    force_new: bool,
    replacing: AppointmentSession | None,
    action: str,
) -> tuple[AppointmentSession, bool]:
    """The session, and whether it was created with FLG (False: reused)."""
    began = timezone.now()
    failed: FlgError | None = None
    with locks.customer_lock(customer.pk) as queued:
        now = timezone.now()
        if not force_new:
            reusable = _reusable_session(
                customer=customer, appointment_type=appointment_type, now=now, replacing=replacing
            )
            if reusable is not None:
                return reusable, False
        if queued:
            shared = _outcome_since(
                customer=customer,
                appointment_type=appointment_type,
                since=began,
                now=now,
                replacing=replacing,
            )
            if shared is not None:
                return shared, False
        _take_rate_slot(customer)
        locks.connection_release()
        try:
            created = sessions.create(
                lead=customer.lead_id,
                appointment_type=appointment_type.flg_id,
                customer_id=customer.pk,
            )
        except FlgError as error:
            # Recorded while the lock is held (and committed with its transaction, which is
            # not rolled back: the error is raised after it), so that the starts queued
            # behind this one find it.
            failure_record(
                error=error, customer=customer, appointment_type=appointment_type, action=action
            )
            failed = error
        else:
            session = AppointmentSession.objects.create(
                flg_session_id=created.session_id,
                customer=customer,
                appointment_type=appointment_type,
                lead_id=created.lead,
                public_url=created.public_url,
                closes_at=created.closes_at,
                created_at=timezone.now(),
            )
            return session, True
    assert failed is not None  # every other way out of the lock returned
    raise failed


def session_refresh(
    *, customer: Customer, session: AppointmentSession, action: str = FlgFailure.Action.REFRESH
) -> AppointmentSession:
    """A fresh session to replace one that is due (shared with other tabs that just asked)."""
    return session_start(
        customer=customer,
        appointment_type=session.appointment_type,
        replacing=session,
        action=action,
    )


def appointment_type_verify(
    *, appointment_type: AppointmentType, customer: Customer
) -> AppointmentSession:
    """Staff check: create a real session for this customer, proving the type id and group.

    The session is kept like any other, so the check shows in the customer's history.
    """
    return session_start(
        customer=customer,
        appointment_type=appointment_type,
        force_new=True,
        action=FlgFailure.Action.VERIFY,
    )


def customers_unlink_staff() -> list[str]:
    """Give each customer record linked to a staff account an account of its own; their lead ids.

    As migration appointments 0009 did for the rows from before the rule: the new account is
    inactive, with no email and no usable password, named `unlinked-lead-<lead id>`. Nothing is
    deleted; the record keeps its lead, sessions and history, the staff account all but the link.
    """
    user_model = get_user_model()
    unlinked = []
    with transaction.atomic():
        linked = Customer.objects.select_for_update().filter(user__in=accounts.users_staff())
        for customer in linked.order_by("pk"):
            name, n = f"unlinked-lead-{customer.lead_id}", 2
            while user_model._default_manager.filter(username=name).exists():
                name, n = f"unlinked-lead-{customer.lead_id}-{n}", n + 1
            account = user_model(username=name, email="", is_active=False)
            account.set_unusable_password()
            account.save()
            Customer.objects.filter(pk=customer.pk).update(user=account)
            unlinked.append(customer.lead_id)
    return unlinked
