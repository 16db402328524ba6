"""Staff two-factor sign-in: the admin wants a code from an app after the password."""

from __future__ import annotations

import datetime as dt
import logging
import re
import subprocess
from base64 import b32decode

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from tests.conftest import PASSWORD, staff_sign_in
from tests.processes import ROOT, manage

pytestmark = pytest.mark.django_db

STAFF_EMAIL = "sam@example.com"
STAFF_PASSWORD = "pw-staff-sam-1"
CODE_PAGE = "/accounts/two-factor/"
ENROL_PAGE = "/accounts/two-factor/enrol/"
RECOVERY_PAGE = "/accounts/two-factor/recovery-codes/"
CUSTOMERS = "/admin/appointments/customer/"


def code_for(device: TOTPDevice) -> str:
    """What the staff member's app shows now for this device."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def password_step(client: Client, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD):
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    assert response.status_code == 302, "the password was refused"
    return response


def give_code(client: Client, code: str, next_url: str = "/admin/"):
    return client.post(CODE_PAGE, {"code": code, "next": next_url})


@pytest.fixture
def sam(db):
    return get_user_model().objects.create_superuser(STAFF_EMAIL, STAFF_EMAIL, STAFF_PASSWORD)


@pytest.fixture
def app(sam):
    return TOTPDevice.objects.create(user=sam, name="Authenticator app", confirmed=True)


@pytest.fixture
def recovery_codes(sam):
    return two_factor.recovery_codes_renew(user=sam)


# --- The happy path --------------------------------------------------------------------------


def test_the_password_alone_does_not_open_the_admin(app, customer):
    client = Client()
    password_step(client)
    for page in ("/admin/", CUSTOMERS, "/admin/auth/user/", "/admin/password_change/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(CODE_PAGE + "?next=")
    assert "casey@example.com" not in client.get(CUSTOMERS, follow=True).content.decode()


def test_the_code_from_the_app_opens_the_admin_at_the_page_asked_for(app, customer):
    client = Client()
    password_step(client)
    asked = client.get(CUSTOMERS, follow=True)
    assert "Now type the code your authenticator app shows" in asked.content.decode()
    assert 'autocomplete="one-time-code"' in asked.content.decode()

    response = give_code(client, code_for(app), next_url=CUSTOMERS)
    assert response.status_code == 302
    assert response["Location"] == CUSTOMERS
    assert "casey@example.com" in client.get(CUSTOMERS).content.decode()


def test_a_staff_member_without_an_app_sets_one_up_on_first_sign_in(sam):
    client = Client()
    password_step(client)
    page = client.get("/admin/", follow=True)
    assert page.request["PATH_INFO"] == ENROL_PAGE
    text = page.content.decode()
    assert re.search(r'<img src="data:image/svg\+xml[^"]+" alt="QR code', text)
    device = TOTPDevice.objects.get(user=sam)
    assert not device.confirmed
    # The key as text, for typing into the app, is the device's key.
    secret = re.search(r'<code id="two-factor-secret">([A-Z2-7 ]+)</code>', text).group(1)
    assert b32decode(secret.replace(" ", "")) == device.bin_key
    assert client.get(ENROL_PAGE).content.decode().count(secret) == 1, "a reload keeps the key"
    assert "no-store" in page["Cache-Control"]

    done = client.post(ENROL_PAGE, {"code": code_for(device), "next": "/admin/"})
    assert done.status_code == 200
    shown = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(shown) == 10
    assert sorted(shown) == sorted(StaticToken.objects.values_list("token", flat=True))
    assert "shown only this once" in done.content.decode()
    assert "no-store" in done["Cache-Control"]
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


def test_an_enrolled_staff_member_cannot_set_up_another_app_with_the_password(app):
    client = Client()
    password_step(client)
    response = client.get(ENROL_PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(CODE_PAGE)
    client.post(ENROL_PAGE, {"code": "123456"})
    assert TOTPDevice.objects.filter(user=app.user).count() == 1


# --- Wrong codes -----------------------------------------------------------------------------


def test_a_wrong_code_is_refused(app):
    client = Client()
    password_step(client)
    right = code_for(app)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    response = give_code(client, wrong)
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_wrong_enrolment_code_is_refused(sam):
    client = Client()
    password_step(client)
    client.get(ENROL_PAGE)
    response = client.post(ENROL_PAGE, {"code": "not-a-code"})
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.get(user=sam).confirmed
    assert client.get("/admin/").status_code == 302


def test_each_wrong_code_doubles_the_wait_before_any_code_is_checked(app):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client()
        password_step(client)
        give_code(client, "000000" if code_for(app) != "000000" else "111111")
        # Within the wait even the right code is refused, and the page says how long.
        response = give_code(client, code_for(app))
        assert "Too many wrong codes: wait 1 seconds" in response.content.decode()
        assert client.get("/admin/").status_code == 302

        clock.shift(dt.timedelta(seconds=1))
        give_code(client, "000000" if code_for(app) != "000000" else "111111")
        response = give_code(client, code_for(app))
        assert "Too many wrong codes: wait 2 seconds" in response.content.decode()

        clock.shift(dt.timedelta(seconds=2))
        assert give_code(client, code_for(app))["Location"] == "/admin/"
    app.refresh_from_db()
    assert app.throttling_failure_count == 0


def test_a_code_works_once(app):
    first = Client()
    password_step(first)
    code = code_for(app)
    assert give_code(first, code)["Location"] == "/admin/"
    replay = Client()
    password_step(replay)
    assert "That code is not right" in give_code(replay, code).content.decode()


def test_the_session_key_changes_when_the_code_is_given(app):
    client = Client()
    password_step(client)
    before = client.cookies["sessionid"].value
    give_code(client, code_for(app))
    assert client.cookies["sessionid"].value != before


def test_the_code_page_returns_only_to_this_site(app):
    client = Client()
    password_step(client)
    response = give_code(client, code_for(app), next_url="https://evil.example/admin/")
    assert response["Location"] == "/admin/"


def test_a_password_only_session_cannot_act_in_the_admin(app, admin_user):
    other = TOTPDevice.objects.create(user=admin_user, name="Authenticator app")
    client = Client()
    password_step(client)
    response = client.post(
        "/admin/auth/user/",
        {"action": "reset_two_factor", "_selected_action": [str(admin_user.pk)]},
    )
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)
    assert TOTPDevice.objects.filter(pk=other.pk).exists()


def test_the_admin_never_shows_a_key_or_a_recovery_code(app, recovery_codes, admin_user):
    client = staff_sign_in(Client(), admin_user)
    for page in ("/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/"):
        assert client.get(page).status_code == 404
    user_page = client.get(f"/admin/auth/user/{app.user.pk}/change/").content.decode()
    assert app.key not in user_page and recovery_codes[0] not in user_page


# --- Recovery codes --------------------------------------------------------------------------


def test_a_recovery_code_opens_the_admin_once(app, recovery_codes):
    first = Client()
    password_step(first)
    response = give_code(first, recovery_codes[0].upper()[:4] + "-" + recovery_codes[0][4:])
    assert response["Location"] == "/admin/"
    index = first.get("/admin/").content.decode()
    assert "You signed in with a recovery code" in index and "9 left" in index

    again = Client()
    password_step(again)
    assert "That code is not right" in give_code(again, recovery_codes[0]).content.decode()
    assert again.get("/admin/").status_code == 302


def test_new_recovery_codes_end_the_old_ones(app, recovery_codes):
    client = staff_sign_in(Client(), app.user)
    assert "Recovery codes" in client.get("/admin/").content.decode()
    page = client.get(RECOVERY_PAGE).content.decode()
    assert "You have 10 unused recovery codes" in page
    made = client.post(RECOVERY_PAGE).content.decode()
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", made)
    assert len(new) == 10 and not set(new) & set(recovery_codes)

    old = Client()
    password_step(old)
    assert "That code is not right" in give_code(old, recovery_codes[1]).content.decode()
    # After the wait that wrong code earned (a second), a new code works.
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=2)):
        fresh = Client()
        password_step(fresh)
        assert give_code(fresh, new[1])["Location"] == "/admin/"


def test_recovery_codes_are_made_only_by_a_verified_session(app, recovery_codes):
    client = Client()
    password_step(client)
    response = client.post(RECOVERY_PAGE)
    assert response.status_code == 302
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(recovery_codes)


# --- Resetting a colleague's app -------------------------------------------------------------


def reset_action(client: Client, user) -> object:
    return client.post(
        "/admin/auth/user/",
        {"action": "reset_two_factor", "_selected_action": [str(user.pk)]},
        follow=True,
    )


def test_a_colleague_resets_the_app_and_the_owner_sets_up_a_new_one(
    app, recovery_codes, admin_user, caplog
):
    owner = Client()
    password_step(owner)
    give_code(owner, code_for(app))
    assert owner.get("/admin/").status_code == 200
    colleague = staff_sign_in(Client(), admin_user)
    assert "Reset two-factor" in colleague.get("/admin/auth/user/").content.decode()

    with caplog.at_level(logging.INFO, logger="accounts.two_factor"):
        done = reset_action(colleague, app.user)
    assert f"Two-factor reset for {STAFF_EMAIL}" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=app.user).exists()
    assert not StaticDevice.objects.filter(user=app.user).exists()
    assert f"Two-factor reset for user {app.user.pk} by user {admin_user.pk}" in caplog.text
    assert not any(code in caplog.text for code in recovery_codes)
    entry = LogEntry.objects.get(object_id=str(app.user.pk))
    assert (entry.user_id, entry.get_change_message()) == (
        admin_user.pk,
        "Reset two-factor sign-in.",
    )

    # The owner's session no longer counts as verified: they set up a new app.
    assert owner.get("/admin/", follow=True).request["PATH_INFO"] == ENROL_PAGE
    assert TOTPDevice.objects.filter(user=app.user, confirmed=False).exists()


def test_staff_without_the_reset_permission_are_not_offered_it(app):
    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    client = staff_sign_in(Client(), clerk)
    assert "reset_two_factor" not in client.get("/admin/auth/user/").content.decode()
    reset_action(client, app.user)
    assert TOTPDevice.objects.filter(user=app.user).exists()


def test_staff_given_the_device_permissions_may_reset(app):
    lead = get_user_model().objects.create_user("lead", "lead@example.com", "pw", is_staff=True)
    lead.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_user", "delete_totpdevice", "delete_staticdevice"]
        )
    )
    reset_action(staff_sign_in(Client(), lead), app.user)
    assert not TOTPDevice.objects.filter(user=app.user).exists()


def test_the_user_list_says_who_has_set_up_an_app(app, admin_user):
    # By username: admin (staff_sign_in gives it an app), sam (enrolled), zoe (none yet).
    get_user_model().objects.create_user("zoe", "zoe@example.com", "pw", is_staff=True)
    page = staff_sign_in(Client(), admin_user).get("/admin/auth/user/?o=1").content.decode()
    assert ">Two-factor</a>" in page
    cells = re.findall(r'<td class="field-has_two_factor"><img [^>]*alt="(\w+)"></td>', page)
    assert cells == ["True", "True", "False"]


def test_the_command_resets_the_last_superuser(app, recovery_codes, caplog, capsys):
    with caplog.at_level(logging.INFO, logger="accounts.two_factor"):
        call_command("reset_two_factor", "SAM@example.com")
    assert "Two-factor of sam@example.com reset" in capsys.readouterr().out
    assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
    assert f"Two-factor reset for user {app.user.pk} by the reset_two_factor command" in (
        caplog.text
    )
    client = Client()
    password_step(client)
    assert client.get("/admin/", follow=True).request["PATH_INFO"] == ENROL_PAGE


def test_the_command_names_an_unknown_address():
    with pytest.raises(CommandError, match=r"No account signs in with 'nobody@example\.com'"):
        call_command("reset_two_factor", "nobody@example.com")


# --- Customers, and the setting ------------------------------------------------------------


def test_customers_never_meet_a_code(customer):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "casey@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    page = client.get(CODE_PAGE)
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")
    assert not TOTPDevice.objects.exists()


def test_with_the_setting_off_the_password_opens_the_admin(app, settings):
    settings.STAFF_TWO_FACTOR = False
    client = Client()
    password_step(client)
    assert client.get("/admin/").status_code == 200


@pytest.mark.subprocess
def test_the_setting_may_be_off_only_when_debugging():
    refused = manage("check", SECRET_KEY="x" * 50, STAFF_TWO_FACTOR="0")
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "STAFF_TWO_FACTOR may be off only with DEBUG on (a local demo)" in lines[0]
    assert manage("check", DEBUG="1", STAFF_TWO_FACTOR="0").returncode == 0


@pytest.mark.subprocess
def test_make_run_turns_it_off_for_its_demo_admin_and_says_so():
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The launcher's line starts web and worker, with the settings both share.
    serve = next(line for line in dry.splitlines() if "bookingportal.launcher" in line)
    assert "DEBUG=1" in serve and "STAFF_TWO_FACTOR=0" in serve
    assert "two-factor is off for this local demo" in dry


def test_a_check_stops_start_up_without_the_two_factor_middleware(settings):
    from django.core.checks import run_checks

    assert "accounts.E010" not in [c.id for c in run_checks()]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "otp" not in m]
    assert "accounts.E010" in [c.id for c in run_checks()]
    settings.STAFF_TWO_FACTOR = False
    assert "accounts.E010" not in [c.id for c in run_checks()]
