"""The sandbox gives attackers no key: it never shows one, seed_demo never copies a configured
key into it, and with DEBUG off it is mounted only on a host declared a demo host."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from flg_sandbox.models import AccessKey
from tests.processes import manage

pytestmark = pytest.mark.django_db

REAL_LOOKING_KEY = "flg-live-5f2c9a7e41d04b8a9c3e"


# --- Never shown -----------------------------------------------------------------------------


def test_the_sandbox_page_lists_keys_without_showing_them(staff):
    AccessKey.objects.create(key=REAL_LOOKING_KEY, name="Portal key")
    AccessKey.objects.create(key="sandbox-no-appointments-key", name="No appointments")
    response = staff.get("/sandbox/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Portal key" in page
    assert REAL_LOOKING_KEY not in page
    assert "sandbox-no-appointments-key" not in page
    assert "flg-••••••••" in page


def test_a_short_key_is_shown_as_dots_alone():
    assert AccessKey(key="abc123").key_masked == "••••••••"
    assert AccessKey(key=REAL_LOOKING_KEY).key_masked == "flg-••••••••"


def test_the_sandbox_admin_never_shows_a_key(admin_client):
    key = AccessKey.objects.create(key=REAL_LOOKING_KEY, name="Portal key")
    listing = admin_client.get("/admin/flg_sandbox/accesskey/")
    change = admin_client.get(f"/admin/flg_sandbox/accesskey/{key.pk}/change/")
    assert listing.status_code == change.status_code == 200
    assert "flg-••••••••" in listing.content.decode()
    assert "flg-••••••••" in change.content.decode()
    assert REAL_LOOKING_KEY not in listing.content.decode()
    assert REAL_LOOKING_KEY not in change.content.decode()


def test_staff_still_add_a_key_in_the_sandbox_admin(admin_client):
    response = admin_client.post(
        "/admin/flg_sandbox/accesskey/add/",
        {"name": "Another", "key": "typed-in-once-0123456789", "allow_appointments": "on"},
    )
    assert response.status_code == 302
    assert AccessKey.objects.get(name="Another").key == "typed-in-once-0123456789"


def test_staff_can_change_a_keys_permission_without_seeing_it(admin_client):
    key = AccessKey.objects.create(key=REAL_LOOKING_KEY, name="Portal key")
    response = admin_client.post(
        f"/admin/flg_sandbox/accesskey/{key.pk}/change/", {"name": "Portal key"}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.key == REAL_LOOKING_KEY
    assert key.allow_appointments is False


# --- seed_demo copies no configured key ----------------------------------------------------------


def test_seed_demo_never_copies_a_configured_key_into_the_sandbox(settings, staff, capsys):
    settings.FLG_API_KEY = REAL_LOOKING_KEY
    call_command("seed_demo", "--force")
    out = capsys.readouterr().out
    assert not AccessKey.objects.filter(key=REAL_LOOKING_KEY).exists()
    assert "FLG_API_KEY is not the sandbox's key, so it was not copied" in out
    assert REAL_LOOKING_KEY not in out
    assert REAL_LOOKING_KEY not in staff.get("/sandbox/").content.decode()


def test_seed_demo_gives_the_sandbox_its_own_key_and_says_nothing_of_it(settings, capsys):
    settings.FLG_API_KEY = "sandbox-appointments-key"
    call_command("seed_demo", "--force")
    out = capsys.readouterr().out
    assert AccessKey.objects.get(key="sandbox-appointments-key").allow_appointments
    assert "not copied" not in out


# --- Mounted with DEBUG off only on a declared demo host ----------------------------------------

# Whether the URL resolves (a 404 page would need the collected static files of DEBUG off).
MOUNTED = (
    "from django.urls import Resolver404, resolve\n"
    "try:\n    resolve('/sandbox/api/v2/appointment-sessions'); print('mounted')\n"
    "except Resolver404:\n    print('not mounted')"
)
PRODUCTION_LIKE = {
    "SECRET_KEY": "Yq3-production-like-secret-7hV9kQ2mZx8WcT4pLr6NbD1sFg5JuE0aHo-iKy",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "testserver",
    "FLG_SANDBOX": "1",
    "SECURE_SSL_REDIRECT": "0",
}


@pytest.mark.subprocess
def test_with_debug_off_the_sandbox_is_not_mounted_and_the_check_is_an_error():
    check = manage("check", **PRODUCTION_LIKE)
    shell = manage("shell", "-c", MOUNTED, **PRODUCTION_LIKE)
    assert check.returncode != 0
    assert "flg.E002" in check.stderr
    assert "FLG_SANDBOX_DEMO_HOST" in check.stderr
    assert shell.stdout.strip().splitlines()[-1] == "not mounted", shell.stderr


@pytest.mark.subprocess
def test_a_declared_demo_host_mounts_it_with_a_warning():
    env = {**PRODUCTION_LIKE, "FLG_SANDBOX_DEMO_HOST": "1"}
    check = manage("check", **env)
    shell = manage("shell", "-c", MOUNTED, **env)
    assert check.returncode == 0, check.stderr
    assert "flg.W003" in check.stderr
    assert "flg.E002" not in check.stderr
    assert shell.stdout.strip().splitlines()[-1] == "mounted", shell.stderr


@pytest.mark.subprocess
def test_with_debug_on_it_mounts_without_a_demo_host():
    env = {**PRODUCTION_LIKE, "DEBUG": "1"}
    check = manage("check", **env)
    assert check.returncode == 0, check.stderr
    assert "flg.E002" not in check.stderr + check.stdout
