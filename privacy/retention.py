"""Retention by default: each kind of personal record kept only as long as its setting says.

`retention_apply` is the recurring job (registered in PrivacyConfig.ready(), run daily by the
worker's schedule); it deletes what is past its time and anonymises customers who have neither
signed in nor started a booking for RETENTION_CUSTOMER_DAYS. Lead deliveries and email records
have their own jobs (FLG_WEBHOOK_LOG_DAYS, OUTBOX_RECORD_DAYS). What each run removed is logged
by kind and count (outbox.schedule), never whose.
"""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from appointments.models import AppointmentSession, Customer, FlgFailure
from privacy import audit, erasure
from privacy.models import Erasure

# Customers anonymised in one run at most (about 40 ms each on SQLite here): the first run on a
# large, old install is spread over a few days instead of holding the worker for many minutes.
ANONYMISE_PER_RUN = 1000


def _before(days: int, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=days)


def sessions_prune(*, now: dt.datetime) -> int:
    """Booking sessions closed more than RETENTION_SESSION_DAYS ago."""
    cutoff = _before(settings.RETENTION_SESSION_DAYS, now)
    deleted, _ = AppointmentSession.objects.filter(closes_at__lt=cutoff).delete()
    return deleted


def failures_prune(*, now: dt.datetime) -> int:
    """Records of FLG failing a customer, older than RETENTION_FAILURE_DAYS."""
    cutoff = _before(settings.RETENTION_FAILURE_DAYS, now)
    deleted, _ = FlgFailure.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def access_prune(*, now: dt.datetime) -> int:
    """Sign-in attempts, failures and the sign-in log older than RETENTION_ACCESS_DAYS."""
    cutoff = _before(settings.RETENTION_ACCESS_DAYS, now)
    deleted = 0
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        count, _ = model.objects.filter(attempt_time__lt=cutoff).delete()
        deleted += count
    return deleted


def customers_inactive(*, now: dt.datetime) -> list[Customer]:
    """Customers with no sign-in and no booking session for RETENTION_CUSTOMER_DAYS."""
    cutoff = _before(settings.RETENTION_CUSTOMER_DAYS, now)
    recent_session = AppointmentSession.objects.filter(
        customer=OuterRef("pk"), created_at__gte=cutoff
    )
    return list(
        Customer.objects.select_related("user")
        .filter(erased_at__isnull=True, user__is_staff=False, user__is_superuser=False)
        .filter(user__date_joined__lt=cutoff)
        .filter(Q(user__last_login__isnull=True) | Q(user__last_login__lt=cutoff))
        .exclude(Exists(recent_session))
        .order_by("pk")[:ANONYMISE_PER_RUN]
    )


def customers_anonymise(*, now: dt.datetime) -> int:
    """Anonymise the inactive customers: each as an erasure that keeps FLG's lead ids."""
    inactive = customers_inactive(now=now)
    for customer in inactive:
        erasure.customer_anonymise(customer=customer)
    return len(inactive)


def retention_apply(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Apply every retention rule once; what went, by kind (the job's log line)."""
    now = now or timezone.now()
    # The trail is pruned first, so anonymising has less of it to empty.
    audit_entries = audit.audit_prune(cutoff=_before(settings.RETENTION_AUDIT_DAYS, now))
    return {
        "customers anonymised": customers_anonymise(now=now),
        "booking sessions": sessions_prune(now=now),
        "FLG failures": failures_prune(now=now),
        "sign-in records": access_prune(now=now),
        # What `manage.py clearsessions` does: signed-in sessions past their expiry.
        "expired browser sessions": Session.objects.filter(expire_date__lt=now).delete()[0],
        "audit entries": audit_entries,
        "erasure records": Erasure.objects.filter(
            created_at__lt=_before(settings.RETENTION_AUDIT_DAYS, now)
        ).delete()[0],
    }
