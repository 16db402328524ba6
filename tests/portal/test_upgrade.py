"""An existing database moves forward to this release with every row it holds."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType, Customer, FlgFailure, LeadGroup

# The migrations of the last release (the layout before accounts/ and flg/ existed).
LAST_RELEASE = [("appointments", "0003_flg_failure")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_last_release_migrates_forward_with_every_row():
    old = migrate(LAST_RELEASE)
    User = old.get_model("auth", "User")
    Group = old.get_model("appointments", "LeadGroup")
    Type = old.get_model("appointments", "AppointmentType")
    OldCustomer = old.get_model("appointments", "Customer")
    Session = old.get_model("appointments", "AppointmentSession")
    Failure = old.get_model("appointments", "FlgFailure")

    group = Group.objects.create(flg_id=101, name="Homeowners")
    kind = Type.objects.create(flg_id=uuid.uuid4(), name="Survey", slug="survey", lead_group=group)
    now = timezone.now()
    for n in range(3):
        user = User.objects.create(username=f"c{n}@example.com", email=f"c{n}@example.com")
        customer = OldCustomer.objects.create(user=user, lead_id=f"10{n}", lead_group=group)
        Session.objects.create(
            flg_session_id=uuid.uuid4(),
            customer=customer,
            appointment_type=kind,
            lead_id=customer.lead_id,
            public_url="https://platform.getflg.com/x",
            closes_at=now + dt.timedelta(minutes=30),
            created_at=now,
        )
        Failure.objects.create(
            customer=customer,
            appointment_type=kind,
            code="unavailable",
            status=503,
            customer_message="Please try again in a minute.",
            detail="FLG is unavailable (503).",
        )

    migrate(latest())

    assert LeadGroup.objects.count() == 1
    assert AppointmentType.objects.get().lead_group.name == "Homeowners"
    assert Customer.objects.count() == 3
    assert sorted(c.user.email for c in Customer.objects.all()) == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    assert AppointmentSession.objects.count() == 3
    failure = FlgFailure.objects.first()
    assert FlgFailure.objects.count() == 3
    assert failure.get_code_display() == "FLG unavailable"


# The migrations of the release that landed before this one (issues 18 and 19: staff apart,
# the outbox). A database it left behind holds rows in every table below.
PREVIOUS_RELEASE = [
    ("appointments", "0009_customer_unlink_staff"),
    ("accounts", "0001_initial"),
    ("outbox", "0002_email_record_former_address"),
    ("flg_sandbox", "0004_email"),
]


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_previous_release_migrates_forward_with_every_row():
    old = migrate(PREVIOUS_RELEASE)
    User = old.get_model("auth", "User")
    Group = old.get_model("appointments", "LeadGroup")
    Type = old.get_model("appointments", "AppointmentType")
    OldCustomer = old.get_model("appointments", "Customer")
    Session = old.get_model("appointments", "AppointmentSession")
    Delivery = old.get_model("appointments", "LeadDelivery")
    Record = old.get_model("outbox", "EmailRecord")
    Mail = old.get_model("flg_sandbox", "Email")

    group = Group.objects.create(flg_id=101, name="Homeowners")
    kind = Type.objects.create(flg_id=uuid.uuid4(), name="Survey", slug="survey", lead_group=group)
    now = timezone.now()
    for n in range(3):
        user = User.objects.create(username=f"c{n}@example.com", email=f"c{n}@example.com")
        customer = OldCustomer.objects.create(user=user, lead_id=f"20{n}", lead_group=group)
        Session.objects.create(
            flg_session_id=uuid.uuid4(),
            customer=customer,
            appointment_type=kind,
            lead_id=customer.lead_id,
            public_url="https://platform.getflg.com/x",
            closes_at=now + dt.timedelta(minutes=30),
            created_at=now,
            booked_at=now if n == 0 else None,
        )
        Delivery.objects.create(lead_id=customer.lead_id, outcome="created", customer=customer)
        Record.objects.create(
            kind="sign_in_link", user_id=user.pk, recipient=f"c•••{n}@example.com"
        )
    Mail.objects.create(to="c0@example.com", subject="Your sign-in link", body="…")

    migrate(latest())

    from appointments.models import LeadDelivery
    from flg_sandbox.models import Email
    from outbox.models import EmailRecord

    assert Customer.objects.count() == 3
    assert sorted(c.user.email for c in Customer.objects.all()) == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    assert AppointmentSession.objects.count() == 3
    assert AppointmentSession.objects.filter(booked_at__isnull=False).count() == 1
    # Bookings recorded before 0011 were all the booking screen's reports; no time was kept.
    booked = AppointmentSession.objects.get(booked_at__isnull=False)
    assert booked.booked_via == "screen"
    assert (booked.slot_starts_at, booked.slot_ends_at) == (None, None)
    assert booked.when_text.startswith("Booked on ")
    assert set(
        AppointmentSession.objects.filter(booked_at=None).values_list("booked_via", flat=True)
    ) == {""}
    assert LeadDelivery.objects.count() == 3
    assert EmailRecord.objects.count() == 3
    assert Email.objects.count() == 1
