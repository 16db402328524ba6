"""A customer with a record of every kind the portal keeps about a person."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from auditlog.context import set_actor
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import CHANGE
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from appointments import leads
from appointments.models import AppointmentSession, Customer, FlgFailure
from flg import webhooks
from outbox import services as outbox
from outbox.kinds import masked_email
from outbox.models import EmailRecord
from tests.conftest import PASSWORD

EMAIL = "philippa.quartermain@example.com"
FIRST, LAST = "Philippa", "Quartermain"
LEAD = "208123777"


@dataclass
class Seeded:
    customer: Customer
    client: Client


def session_create(customer, appointment_type, *, created, booked=False):
    return AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=appointment_type,
        lead_id=customer.lead_id,
        public_url=f"https://platform.getflg.com/book/{uuid.uuid4()}",
        closes_at=created + dt.timedelta(minutes=30),
        created_at=created,
        booked_at=created + dt.timedelta(minutes=5) if booked else None,
    )


def access_records(username: str, when: dt.datetime) -> None:
    common = {
        "username": username,
        "ip_address": "203.0.113.9",
        "user_agent": "Firefox",
        "http_accept": "*/*",
        "path_info": "/accounts/login/",
    }
    for model, extra in (
        (AccessAttempt, {"get_data": "", "post_data": "", "failures_since_start": 1}),
        (AccessFailureLog, {}),
        (AccessLog, {}),
    ):
        row = model.objects.create(**common, **extra)
        model.objects.filter(pk=row.pk).update(attempt_time=when)


def seed_person(*, staff_user, appointment_type, when: dt.datetime | None = None) -> Seeded:
    """Philippa, created by FLG's webhook, signed in, booked, emailed, changed by staff."""
    when = when or timezone.now()
    delivery = webhooks.LeadPayload(lead_id=LEAD, email=EMAIL, first_name=FIRST, last_name=LAST)
    leads.lead_upsert(delivery=delivery, source="198.51.100.7")
    customer = Customer.objects.select_related("user").get(lead_id=LEAD)
    user = customer.user
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    # A real sign-in: a row in the sessions table and one in the sign-in log.
    signed_in = client.post("/accounts/login/", {"username": EMAIL, "password": PASSWORD})
    assert signed_in.status_code == 302
    session_create(customer, appointment_type, created=when, booked=True)
    session_create(customer, appointment_type, created=when - dt.timedelta(hours=1))
    FlgFailure.objects.create(
        customer=customer,
        appointment_type=appointment_type,
        code="rejected",
        customer_message="We could not open the booking screen.",
        detail=f"FLG refused lead {LEAD}",
    )
    outbox.email_queue(kind="invite", user_id=user.pk, email=EMAIL)
    # A notice to a former address, still waiting to go: the full address is on its record.
    EmailRecord.objects.create(
        kind="email_changed", user_id=user.pk, recipient=masked_email(EMAIL), address=EMAIL
    )
    access_records(EMAIL, when)
    with set_actor(staff_user):
        user.last_name = LAST + "-Smythe"
        user.save()
        user.last_name = LAST
        user.save()
    AdminLogEntry.objects.create(
        user=staff_user,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk),
        object_repr=str(customer),
        action_flag=CHANGE,
        change_message="[]",
    )
    return Seeded(customer=customer, client=client)


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
