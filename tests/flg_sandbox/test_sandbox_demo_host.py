"""The sandbox on a demo host (FLG_SANDBOX_DEMO_HOST, DEBUG off): staff pages need staff.

Its index lists leads' names and emails; the booking screen at a publicUrl and the API stay
public as FLG's are (an unguessable token, an access key). Its own lead webhook push reaches
the portal there too, where plain http is redirected to https.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.test import Client

from tests.processes import Gunicorn, free_port, manage

TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-demo"
TYPE_ID = "39594a1c-72db-4990-a63f-8d5139a5e4e1"  # type_for_all


@pytest.fixture
def leads(sandbox):
    from flg_sandbox.models import Lead

    Lead.objects.create(lead_id="777001", first_name="Nina", email="nina.private@example.com")
    return sandbox


def test_on_a_demo_host_the_sandbox_index_needs_a_staff_sign_in(leads, customer, staff, settings):
    assert settings.DEBUG is False and settings.FLG_SANDBOX_DEMO_HOST is True
    anonymous = Client().get("/sandbox/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/?next=/sandbox/")
    a_customer = Client()
    a_customer.force_login(customer.user)
    assert "nina.private@example.com" not in a_customer.get("/sandbox/", follow=True).text
    page = staff.get("/sandbox/")
    assert page.status_code == 200
    assert "nina.private@example.com" in page.text


def test_a_staff_password_without_the_code_does_not_open_the_sandbox_index(leads, settings):
    from django.contrib.auth import get_user_model

    assert settings.STAFF_TWO_FACTOR is True
    user = get_user_model().objects.create_user(
        username="ops@acme.example", email="ops@acme.example", password="x", is_staff=True
    )
    password_only = Client()
    password_only.force_login(user)
    page = password_only.get("/sandbox/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/two-factor/?next=/sandbox/")
    assert "nina.private@example.com" not in password_only.get("/sandbox/", follow=True).text


def test_under_debug_the_sandbox_index_stays_open_as_make_run_has_it(leads, settings):
    settings.DEBUG = True
    assert Client().get("/sandbox/").status_code == 200


def test_the_api_and_the_booking_screen_stay_public(sandbox, customer, type_for_all):
    sandbox.mirror()
    created = Client().post(
        "/sandbox/api/v2/appointment-sessions",
        data=json.dumps({"lead": customer.lead_id, "appointmentType": TYPE_ID}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {sandbox.GOOD_KEY}",
    )
    assert created.status_code == 200
    screen = Client().get(created.json()["publicUrl"].removeprefix("http://testserver"))
    assert screen.status_code == 200


# --- The sandbox's webhook push -----------------------------------------------------------------

SHOW_URL = "from django.conf import settings as s; print(s.FLG_SANDBOX_WEBHOOK_URL)"


def webhook_url(**env: str) -> str:
    done = manage("shell", "-c", SHOW_URL, FLG_SANDBOX="1", FLG_WEBHOOK_TOKEN=TOKEN, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.subprocess
def test_the_push_goes_to_the_portals_own_address_wherever_http_is_redirected():
    demo = {"SECRET_KEY": "demo-host-" + "k" * 50, "DEBUG": "0", "FLG_SANDBOX_DEMO_HOST": "1"}
    assert webhook_url(**demo, PORTAL_URL="https://demo.example.com") == (
        f"https://demo.example.com/flg/webhooks/leads/{TOKEN}/"
    )
    # Plain http on loopback where it is served as such: make run, or redirects switched off.
    assert webhook_url(DEBUG="1") == f"http://127.0.0.1:8000/flg/webhooks/leads/{TOKEN}/"
    assert webhook_url(**demo, SECURE_SSL_REDIRECT="0", PORT="8123") == (
        f"http://127.0.0.1:8123/flg/webhooks/leads/{TOKEN}/"
    )


class TlsProxy:
    """Stands for the demo host's TLS-terminating proxy: forwards to the portal, saying https."""

    def __init__(self, upstream: str, port: int) -> None:
        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"})
                answer = requests.post(
                    upstream + self.path,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=10,
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Forward)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


PUSH = """
import json
from appointments.models import Customer
from flg_sandbox import services
from flg_sandbox.models import Lead
lead = Lead.objects.create(lead_id="777002", first_name="Robin", email="robin@example.com")
sent = services.lead_webhook_send(lead=lead)
plain = services.lead_webhook_send(lead=lead, url="{plain}")
print(json.dumps({{
    "ok": sent.ok, "message": sent.message,
    "plain_ok": plain.ok, "plain_message": plain.message,
    "customer": Customer.objects.filter(lead_id="777002").exists(),
}}))
"""


@pytest.mark.subprocess
def test_on_a_demo_host_behind_https_the_sandbox_push_reaches_the_portal(tmp_path):
    proxy_port = free_port()
    env = {
        "SECRET_KEY": "demo-host-push-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "FLG_SANDBOX": "1",
        "FLG_SANDBOX_DEMO_HOST": "1",
        "FLG_WEBHOOK_TOKEN": TOKEN,
        "TRUSTED_PROXIES": "127.0.0.1",
        # The demo's public address: here the stand-in proxy; https in a real deployment.
        "PORTAL_URL": f"http://127.0.0.1:{proxy_port}",
        "WEB_CONCURRENCY": "1",
        "LOG_FORMAT": "json",
    }
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = manage(*command, timeout=180, **env)
        assert done.returncode == 0, done.stderr
    server = Gunicorn(tmp_path / "gunicorn.log", **env).wait_ready()
    proxy = TlsProxy(server.url, proxy_port)
    try:
        plain = f"{server.url}/flg/webhooks/leads/{TOKEN}/"
        # PORT as the demo host has it: the port the portal itself listens on.
        pushing = {**env, "PORT": str(server.port)}
        done = manage("shell", "-c", PUSH.format(plain=plain), timeout=60, **pushing)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        proxy.stop()
        server.stop()
    assert result["ok"], result["message"]
    assert result["message"] == (
        f"Lead 777002: the webhook to 127.0.0.1:{proxy_port} answered 200 (created)."
    )
    assert result["customer"]
    # Straight to the portal over plain http: redirected, and the sandbox says what to do.
    assert not result["plain_ok"]
    assert "answered 301" in result["plain_message"]
    assert "set FLG_SANDBOX_WEBHOOK_URL" in result["plain_message"]
