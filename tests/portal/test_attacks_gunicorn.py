"""Issue 18's attacks replayed over HTTP against real gunicorn, as docs/deploy.md deploys it.

The log and Referer attacks (items 1, 3, 10) live in test_secrets_in_logs.py, bad charsets
(5) in test_bad_encodings.py, signing out through a Redis stall (7) in test_sign_out_final.py
and the sandbox on a demo host (11) in tests/flg_sandbox/test_sandbox_demo_host.py, each
against gunicorn too. Here: the staff takeover through the webhook (2), password spraying (4),
a reset token at the invitation address (6), revoked booking links (8) and an email no account
can hold (9). One server, one SQLite file, DEBUG off, JSON logs.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.flg.test_webhooks import FLG_LEAD
from tests.helpers import csrf_token
from tests.processes import Gunicorn, free_port, manage

pytestmark = pytest.mark.subprocess

PASSWORD = "a-long-enough-password-9"
WEBHOOK = "gunicorn-attacks-webhook-token-0123456789abcdef"
SEED = f"""
from django.contrib.auth.models import User
from appointments.models import AppointmentType, Customer
from flg_sandbox import models as sandbox
boss = User.objects.create_superuser("boss@acme.example", "boss@acme.example", "{PASSWORD}")
user = User.objects.create_user("casey@example.com", "casey@example.com", "{PASSWORD}")
Customer.objects.create(user=user, lead_id="4242")
AppointmentType.objects.create(
    flg_id="39594a1c-72db-4990-a63f-8d5139a5e4e1", name="Initial consultation", slug="initial"
)
sandbox.AccessKey.objects.get_or_create(
    key="sandbox-appointments-key", defaults={{"name": "attacks", "allow_appointments": True}}
)
sandbox.Lead.objects.create(lead_id="4242", lead_group_id=0)
sandbox.AppointmentType.objects.create(
    id="39594a1c-72db-4990-a63f-8d5139a5e4e1", name="Initial consultation", lead_group_id=None
)
for n in range(30):
    User.objects.create_user(f"sprayed{{n}}@example.com", f"sprayed{{n}}@example.com", "{PASSWORD}")
"""


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    port = free_port()
    env = {
        "SECRET_KEY": "gunicorn-attacks-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp / "static"),
        # FLG is the sandbox, on this same server (a demo host), as `make run` has it.
        "FLG_SANDBOX": "1",
        "FLG_SANDBOX_DEMO_HOST": "1",
        "PORT": str(port),
        "FLG_API_KEY": "sandbox-appointments-key",
        "FLG_WEBHOOK_TOKEN": WEBHOOK,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_FORMAT": "json",
    }
    commands = (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["shell", "-c", SEED])
    for command in commands:
        done = manage(*command, timeout=180, **env)
        assert done.returncode == 0, done.stderr
    server = Gunicorn(tmp / "gunicorn.log", port, **env)
    try:
        server.wait_ready()
        server.env = env
        yield server
    finally:
        server.stop()


def shell(portal: Gunicorn, code: str) -> str:
    done = manage("shell", "-c", code, timeout=60, **portal.env)  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def sign_in(portal: Gunicorn, browser: requests.Session, email: str, password: str) -> int:
    url = portal.url + "/accounts/login/"
    token = csrf_token(browser, url)
    data = {"username": email, "password": password, "csrfmiddlewaretoken": token}
    return browser.post(url, data, allow_redirects=False, timeout=10).status_code


def test_a_webhook_delivery_cannot_take_over_a_staff_account(portal):
    # A record linked to the superuser anyway (the import and the admin refuse it; a shell
    # does not): the delivery for its lead must not move the superuser's email.
    shell(
        portal,
        "from django.contrib.auth.models import User\n"
        "from appointments.models import Customer\n"
        "Customer.objects.create(user=User.objects.get(username='boss@acme.example'),"
        " lead_id='5151')",
    )
    answer = requests.post(
        f"{portal.url}/flg/webhooks/leads/{WEBHOOK}/",
        data={**FLG_LEAD, "id": "5151", "email": "attacker@evil.example"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "conflict"
    email = "from django.contrib.auth.models import User\n"
    email += "print(User.objects.get(is_superuser=True).email)"
    assert shell(portal, email) == "boss@acme.example"


def test_an_email_no_account_can_hold_is_skipped_not_a_503(portal):
    long_email = "joe." + "b" * 40 + "@" + "x" * 60 + "." + "y" * 48 + ".example.com"
    assert 151 <= len(long_email) <= 254
    answer = requests.post(
        f"{portal.url}/flg/webhooks/leads/{WEBHOOK}/",
        data={**FLG_LEAD, "id": "6161", "email": long_email},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "skipped"


def test_one_address_spraying_many_accounts_is_locked_out(portal):
    browser = requests.Session()
    statuses = [
        sign_in(portal, browser, f"sprayed{n}@example.com", "Winter2026!") for n in range(25)
    ]
    assert statuses[:19] == [200] * 19  # the form again, with its error
    assert 429 in statuses[19:21]
    # The right password for an untouched account is refused from this address too.
    assert sign_in(portal, browser, "sprayed29@example.com", PASSWORD) == 429


def test_a_reset_token_at_the_invitation_address_signs_nobody_in(portal):
    made = shell(
        portal,
        "from django.contrib.auth.models import User\n"
        "from django.contrib.auth.tokens import default_token_generator as g\n"
        "from django.utils.http import urlsafe_base64_encode as b\n"
        "u = User.objects.get(username='boss@acme.example')\n"
        "print(b(str(u.pk).encode()), g.make_token(u))",
    )
    uid, token = made.split()
    browser = requests.Session()
    page = browser.get(f"{portal.url}/accounts/invite/{uid}/{token}/", timeout=10)
    assert "new_password1" not in page.text
    admin = browser.get(f"{portal.url}/admin/", allow_redirects=False, timeout=10)
    assert admin.status_code == 302 and "/admin/login/" in admin.headers["Location"]


def test_revoking_booking_links_signs_out_the_browser_that_came_in_through_one(portal):
    url = shell(
        portal,
        "from appointments import booking_links\n"
        "from appointments.models import AppointmentType, Customer\n"
        "link = booking_links.booking_link_create(customer=Customer.objects.get(lead_id='4242'),"
        f" appointment_type=AppointmentType.objects.get(slug='initial'), base_url='{portal.url}')\n"
        "print(link.url)",
    )
    browser = requests.Session()
    book_page = browser.get(url, timeout=10)
    assert book_page.status_code == 200 and "/link/" in book_page.url
    token = csrf_token(browser, book_page.url)
    pressed = browser.post(book_page.url, {"csrfmiddlewaretoken": token}, timeout=20)
    assert pressed.status_code == 200 and "/session/" in pressed.url
    assert browser.get(portal.url + "/", allow_redirects=False, timeout=10).status_code == 200

    shell(
        portal,
        "from appointments import booking_links\n"
        "from appointments.models import Customer\n"
        "booking_links.booking_links_revoke(customers=Customer.objects.filter(lead_id='4242'))",
    )
    home = browser.get(portal.url + "/", allow_redirects=False, timeout=10)
    assert home.status_code == 302 and "/accounts/login/" in home.headers["Location"]
    assert browser.get(portal.url + "/", allow_redirects=False, timeout=10).status_code == 302


def test_no_line_gunicorn_wrote_holds_the_webhook_token_or_is_not_json(portal):
    for line in portal.log.read_text().splitlines():
        assert WEBHOOK not in line
        json.loads(line)
