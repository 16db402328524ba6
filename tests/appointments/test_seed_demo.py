"""`manage.py seed_demo`: a demo to sign in to, the same on the portal's side and the sandbox's."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Model

from appointments import demo
from appointments.models import AppointmentType, Customer, LeadGroup
from flg_sandbox import models as sandbox
from tests.processes import manage

pytestmark = pytest.mark.django_db


def counts() -> list[int]:
    models: list[type[Model]] = [
        LeadGroup,
        AppointmentType,
        Customer,
        get_user_model(),
        sandbox.AppointmentType,
        sandbox.Lead,
        sandbox.AccessKey,
    ]
    return [m._default_manager.count() for m in models]


def test_it_creates_the_demo_and_prints_both_sign_ins(capsys):
    call_command("seed_demo", "--force")
    out = capsys.readouterr().out
    assert "customer@example.com / bookings-demo" in out
    assert "admin@example.com / admin-demo" in out
    assert Customer.objects.filter(user__email="customer@example.com").exists()


def test_it_runs_without_force_when_debugging(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert Customer.objects.exists()


def test_it_refuses_to_run_with_debug_off():
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Customer.objects.exists()
    assert not get_user_model().objects.exists()


def test_running_it_twice_changes_nothing():
    call_command("seed_demo", "--force")
    before = counts()
    call_command("seed_demo", "--force")
    assert counts() == before


def test_the_demo_customer_signs_in_through_the_sign_in_page(client):
    call_command("seed_demo", "--force")
    response = client.post(
        "/accounts/login/", {"username": "customer@example.com", "password": "bookings-demo"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_the_demo_admin_is_a_superuser_who_signs_in_to_the_admin(client, settings):
    settings.STAFF_TWO_FACTOR = False  # as `make run` serves the demo
    call_command("seed_demo", "--force")
    admin = get_user_model().objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.is_staff
    client.post("/admin/login/", {"username": "admin@example.com", "password": "admin-demo"})
    assert client.get("/admin/").status_code == 200


def test_the_types_cover_every_case():
    call_command("seed_demo", "--force")
    types = AppointmentType.objects.all()
    assert sum(1 for t in types if t.lead_group is None and t.is_active) == 1
    assert sum(1 for t in types if t.lead_group is not None and t.is_active) >= 2
    assert sum(1 for t in types if not t.is_active) == 1


def test_the_sandbox_holds_the_same_ids_and_both_keys():
    call_command("seed_demo", "--force")
    for t in AppointmentType.objects.select_related("lead_group"):
        mirrored = sandbox.AppointmentType.objects.get(pk=t.flg_id)
        assert mirrored.lead_group_id == (t.lead_group.flg_id if t.lead_group else None)
    for c in Customer.objects.select_related("lead_group"):
        assert sandbox.Lead.objects.get(lead_id=c.lead_id).lead_group_id == c.lead_group.flg_id
    keys = dict(sandbox.AccessKey.objects.values_list("key", "allow_appointments"))
    assert keys["sandbox-appointments-key"] is True
    assert keys["sandbox-no-appointments-key"] is False


def test_the_sandbox_leads_are_the_demo_customers_as_flg_would_send_them():
    call_command("seed_demo", "--force")
    for c in Customer.objects.select_related("user", "lead_group"):
        lead = sandbox.Lead.objects.get(lead_id=c.lead_id)
        assert (lead.email, lead.first_name, lead.last_name) == (
            c.user.email,
            c.user.first_name,
            c.user.last_name,
        )
        assert (lead.lead_group_name, lead.status) == (c.lead_group.name, c.flg_status)


@pytest.mark.subprocess
def test_make_run_wires_the_sandbox_to_the_portals_webhook(capsys, settings):
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert f"FLG_WEBHOOK_TOKEN={demo.DEMO_WEBHOOK_TOKEN}" in makefile
    env = {
        "DEBUG": "1",
        "FLG_SANDBOX": "1",
        "FLG_WEBHOOK_TOKEN": demo.DEMO_WEBHOOK_TOKEN,
        "SECRET_KEY": "",
    }
    show = "from django.conf import settings as s; print(s.FLG_SANDBOX_WEBHOOK_URL)"
    result = manage("shell", "-c", show, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        f"http://127.0.0.1:8000/flg/webhooks/leads/{demo.DEMO_WEBHOOK_TOKEN}/"
    )
    settings.FLG_SANDBOX_WEBHOOK_URL = result.stdout.strip().splitlines()[-1]
    call_command("seed_demo", "--force")
    out = capsys.readouterr().out
    assert "a lead saved in the sandbox" in out and "127.0.0.1:8000" in out
    assert demo.DEMO_WEBHOOK_TOKEN not in out
