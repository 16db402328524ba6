"""Retention by default: seed every kind of record, let time pass, run the jobs, count."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.utils import timezone

from appointments.models import AppointmentSession, Customer, FlgFailure, LeadDelivery
from outbox import kinds, schedule
from outbox.models import EmailRecord
from privacy.models import Erasure
from tests.conftest import make_customer
from tests.outbox.conftest import drain
from tests.privacy.conftest import EMAIL, access_records, seed_person, session_create

pytestmark = pytest.mark.queue

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def counts() -> dict[str, int]:
    return {
        "sessions": AppointmentSession.objects.count(),
        "failures": FlgFailure.objects.count(),
        "deliveries": LeadDelivery.objects.count(),
        "emails": EmailRecord.objects.count(),
        "access": AccessAttempt.objects.count()
        + AccessFailureLog.objects.count()
        + AccessLog.objects.count(),
        "audit": LogEntry.objects.count(),
        "anonymised": Customer.objects.filter(erased_at__isnull=False).count(),
    }


def run_jobs(caplog) -> str:
    """The worker's schedule: every job due is queued, then the queue is drained."""
    with caplog.at_level(logging.INFO, logger="outbox.schedule"):
        assert "apply_retention" in schedule.jobs_due()
        drain()
    return caplog.text


def test_the_retention_job_is_on_the_workers_schedule():
    assert "apply_retention" in {job.name for job in kinds.jobs()}


def test_nothing_young_is_removed(db, boss, type_for_all, caplog):
    with time_machine.travel(START, tick=False):
        seed_person(staff_user=boss, appointment_type=type_for_all)
        before = counts()
        log = run_jobs(caplog)
    assert counts() == before
    assert "Recurring job apply_retention: 0 customers anonymised, 0 booking sessions" in log


def test_each_kind_goes_after_its_own_time(db, boss, type_for_all, caplog, settings):
    with time_machine.travel(START, tick=False):
        seeded = seed_person(staff_user=boss, appointment_type=type_for_all)
        EmailRecord.objects.filter(status="queued").update(status="sent", finished_at=START)
    # 31 days on: sign-in records (30), lead deliveries (30) and email records (30) are gone.
    with time_machine.travel(START + 31 * DAY, tick=False):
        # What happened since stays: a fresh sign-in record, a fresh booking session.
        access_records("someone@example.com", timezone.now())
        session_create(seeded.customer, type_for_all, created=timezone.now())
        log = run_jobs(caplog)
        left = counts()
    assert (left["access"], left["deliveries"], left["emails"]) == (3, 0, 0)
    assert (left["sessions"], left["failures"]) == (3, 1)
    # The seed's signed-in browser session expired after two weeks: gone too.
    assert "1 expired browser sessions" in log
    # The real sign-in the seed made, and the three records beside it.
    assert "4 sign-in records" in log and "1 lead deliveries" in log and "2 email records" in log
    # 91 days on: the FLG failure (90).
    with time_machine.travel(START + 91 * DAY, tick=False):
        run_jobs(caplog)
        assert counts()["failures"] == 0 and counts()["sessions"] == 3
    # A year and a day after they closed: the first two sessions (365); the later one stays.
    with time_machine.travel(START + 367 * DAY, tick=False):
        run_jobs(caplog)
        assert counts()["sessions"] == 1
    # Two years: the audit trail of that time (730).
    with time_machine.travel(START + 731 * DAY, tick=False):
        run_jobs(caplog)
        assert not LogEntry.objects.filter(timestamp__lt=START + DAY).exists()
    assert EMAIL not in caplog.text


def test_a_customer_silent_for_three_years_is_anonymised_and_still_counted(
    db, boss, type_for_all, caplog, settings
):
    # Sessions kept longer than customers here, to see them survive the anonymising.
    settings.RETENTION_SESSION_DAYS = 5 * 365
    with time_machine.travel(START, tick=False):
        seeded = seed_person(staff_user=boss, appointment_type=type_for_all)
        active = make_customer("still.here@example.com", "208000001", None)
    with time_machine.travel(START + 1000 * DAY, tick=False):
        # The other customer signs in now and then; Philippa never again.
        get_user_model().objects.filter(pk=active.user_id).update(last_login=timezone.now())
    with time_machine.travel(START + (3 * 365 + 2) * DAY, tick=False):
        sessions_before = AppointmentSession.objects.filter(customer=seeded.customer).count()
        log = run_jobs(caplog)
    assert "1 customers anonymised" in log
    philippa = Customer.objects.select_related("user").get(pk=seeded.customer.pk)
    assert philippa.erased_at is not None and philippa.user.email == ""
    assert Customer.objects.get(pk=active.pk).erased_at is None
    assert Customer.objects.count() == 2
    # Kept as anonymous rows, FLG's lead ids on them unchanged (until their own time is up).
    assert Erasure.objects.get().reason == Erasure.Reason.RETENTION
    sessions = AppointmentSession.objects.filter(customer=philippa)
    assert sessions.count() == sessions_before
    assert {s.lead_id for s in sessions} == {"208123777"} and {s.public_url for s in sessions} == {
        ""
    }
    assert EMAIL not in caplog.text


def test_a_run_anonymises_at_most_its_share_and_the_next_run_goes_on(db, monkeypatch):
    from privacy import retention

    monkeypatch.setattr(retention, "ANONYMISE_PER_RUN", 2)
    with time_machine.travel(START, tick=False):
        for n in range(3):
            make_customer(f"quiet{n}@example.com", f"20800010{n}", None)
    later = START + (3 * 365 + 2) * DAY
    assert retention.retention_apply(now=later)["customers anonymised"] == 2
    assert retention.retention_apply(now=later)["customers anonymised"] == 1
    assert Customer.objects.filter(erased_at__isnull=True).count() == 0
