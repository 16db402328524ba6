from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from appointments import demo
from appointments.models import AppointmentType, Customer, LeadGroup
from flg_sandbox import models as sandbox

pytestmark = pytest.mark.django_db


def test_it_refuses_to_run_with_debug_off():
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Customer.objects.exists()


def test_it_creates_the_demo_and_can_run_twice(capsys):
    call_command("seed_demo", "--force")
    counts = [m.objects.count() for m in (LeadGroup, AppointmentType, Customer)]
    call_command("seed_demo", "--force")
    assert [m.objects.count() for m in (LeadGroup, AppointmentType, Customer)] == counts
    out = capsys.readouterr().out
    assert "customer@example.com / bookings-demo" in out
    assert "admin@example.com / admin-demo" in out


def test_the_demo_customer_and_admin_can_sign_in(client):
    call_command("seed_demo", "--force")
    response = client.post(
        "/accounts/login/", {"username": "customer@example.com", "password": "bookings-demo"}
    )
    assert response.status_code == 302
    admin = get_user_model().objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.check_password("admin-demo")


def test_the_types_cover_every_case():
    call_command("seed_demo", "--force")
    types = AppointmentType.objects.all()
    assert any(t.lead_group is None and t.is_active for t in types)
    assert sum(1 for t in types if t.lead_group is not None) >= 2
    assert any(not t.is_active for t in types)


def test_the_sandbox_holds_the_same_ids_and_both_keys(settings):
    call_command("seed_demo", "--force")
    for t in AppointmentType.objects.select_related("lead_group"):
        mirrored = sandbox.AppointmentType.objects.get(pk=t.flg_id)
        assert mirrored.lead_group_id == (t.lead_group.flg_id if t.lead_group else None)
    for c in Customer.objects.select_related("lead_group"):
        assert sandbox.Lead.objects.get(lead_id=c.lead_id).lead_group_id == c.lead_group.flg_id
    keys = dict(sandbox.AccessKey.objects.values_list("key", "allow_appointments"))
    assert keys[settings.FLG_API_KEY] is True
    assert keys[demo.NO_APPOINTMENTS_KEY] is False
