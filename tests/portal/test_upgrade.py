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
