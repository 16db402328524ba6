"""Customer records linked to a staff account before the rule: reported, and unlinked safely."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from appointments.models import Customer

BEFORE = [("appointments", "0008_session_booked_at")]
UNLINK = [("appointments", "0009_customer_unlink_staff")]
RECORDS = ["AppointmentSession", "FlgFailure", "LeadDelivery"]
User = get_user_model()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def check(*args: str) -> str:
    out = io.StringIO()
    call_command("check", *args, stdout=out, stderr=out)
    return out.getvalue()


# --- The system check -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_check_names_each_customer_record_linked_to_a_staff_account(customer):
    boss = User.objects.create_user("boss@example.com", "boss@example.com", is_superuser=True)
    Customer.objects.create(user=boss, lead_id="555")
    with pytest.raises(SystemCheckError) as found:
        check("--database", "default")
    message = str(found.value)
    assert "appointments.E001" in message
    assert "1 customer record(s) are linked to a staff account (lead 555)" in message
    assert customer.lead_id not in message
    # Rows are read only when the database is named (as `migrate` does): a build step may
    # have none.
    assert "appointments.E001" not in check()


@pytest.mark.django_db
def test_the_command_the_check_names_unlinks_them_and_keeps_every_row(customer):
    boss = User.objects.create_user("boss@example.com", "boss@example.com", is_staff=True)
    record = Customer.objects.create(user=boss, lead_id="555", flg_status="Quoted")
    out = io.StringIO()
    call_command("unlink_staff_customers", stdout=out)
    assert "Unlinked 1 customer record(s) from staff accounts (lead 555)" in out.getvalue()
    record.refresh_from_db()
    assert (record.user.username, record.user.email) == ("unlinked-lead-555", "")
    assert not record.user.is_active and not record.user.has_usable_password()
    assert (record.lead_id, record.flg_status) == ("555", "Quoted")
    boss.refresh_from_db()
    assert boss.is_staff and not hasattr(boss, "customer")
    assert Customer.objects.get(lead_id=customer.lead_id).user == customer.user
    assert "appointments." not in check("--database", "default")


@pytest.mark.django_db
def test_before_the_migration_it_warns_so_that_migrate_itself_is_not_stopped():
    boss = User.objects.create_user("boss@example.com", "boss@example.com", is_staff=True)
    Customer.objects.create(user=boss, lead_id="555")
    MigrationRecorder.Migration.objects.filter(
        app="appointments", name="0009_customer_unlink_staff"
    ).delete()
    out = check("--database", "default")
    assert "appointments.W001" in out
    assert "`manage.py migrate` unlinks them" in out


# --- The migration ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_unlinks_staff_accounts_and_keeps_every_row():
    try:
        old = migrate(BEFORE)
        OldUser = old.get_model("auth", "User")
        OldCustomer = old.get_model("appointments", "Customer")
        Type = old.get_model("appointments", "AppointmentType")
        Session = old.get_model("appointments", "AppointmentSession")
        Failure = old.get_model("appointments", "FlgFailure")
        Delivery = old.get_model("appointments", "LeadDelivery")

        boss = OldUser.objects.create(
            username="boss@example.com", email="boss@example.com", is_staff=True, password="x"
        )
        root = OldUser.objects.create(username="root", email="", is_superuser=True, password="y")
        ann = OldUser.objects.create(username="ann@example.com", email="ann@example.com")
        kind = Type.objects.create(flg_id=uuid.uuid4(), name="Survey", slug="survey")
        for user, lead_id in [(boss, "555"), (root, "556"), (ann, "111")]:
            record = OldCustomer.objects.create(user=user, lead_id=lead_id, flg_status="Quoted")
            Session.objects.create(
                flg_session_id=uuid.uuid4(),
                customer=record,
                appointment_type=kind,
                lead_id=lead_id,
                public_url="https://platform.getflg.com/x",
                closes_at=timezone.now() + dt.timedelta(minutes=30),
            )
            Failure.objects.create(customer=record, code="unavailable", detail="503")
            Delivery.objects.create(lead_id=lead_id, outcome="updated", customer=record)
        # A user name the migration would choose is taken already: it picks the next one.
        OldUser.objects.create(username="unlinked-lead-556", email="")
        users_before = OldUser.objects.count()

        new = migrate(UNLINK)
        # The models as that migration left them: later migrations add columns.
        NewCustomer = new.get_model("appointments", "Customer")
        NewUser = new.get_model("auth", "User")
        records = [new.get_model("appointments", name) for name in RECORDS]

        assert NewCustomer.objects.count() == 3
        for model in records:
            assert model.objects.count() == 3
            assert model.objects.filter(customer__lead_id="555").count() == 1
        assert NewUser.objects.count() == users_before + 2
        for lead_id, name in [("555", "unlinked-lead-555"), ("556", "unlinked-lead-556-2")]:
            record = NewCustomer.objects.select_related("user").get(lead_id=lead_id)
            account = record.user
            assert (account.username, account.email) == (name, "")
            assert not account.is_active and not is_password_usable(account.password)
            assert not account.is_staff and not account.is_superuser
            assert record.flg_status == "Quoted"
        staff = NewUser.objects.get(username="boss@example.com")
        assert (staff.email, staff.is_staff, staff.password) == ("boss@example.com", True, "x")
        assert not NewCustomer.objects.filter(user=staff).exists()
        assert NewCustomer.objects.get(lead_id="111").user.username == "ann@example.com"

        # Backwards changes nothing (relinking would reopen the hole); forwards again adds none.
        migrate(BEFORE)
        assert NewCustomer.objects.get(lead_id="555").user.username == "unlinked-lead-555"
        assert NewUser.objects.count() == users_before + 2
        migrate(UNLINK)
        assert NewUser.objects.count() == users_before + 2
        migrate(latest())
        assert "appointments." not in check("--database", "default")
    finally:
        migrate(latest())
