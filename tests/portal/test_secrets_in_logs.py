"""No token from a URL reaches gunicorn's output, in either log format, whatever is asked.

The portal under real gunicorn with gunicorn.conf.py, as the image runs it, on PostgreSQL (a
database of its own on the suite's server) reached through a gate the test closes for an
outage. Every token-bearing address is asked for resolved, without its trailing slash, with
junk after it, with a query string, by the wrong method, spent, and while the database is down;
then every byte gunicorn wrote (stdout and stderr) is searched for every token.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.flg.test_webhooks import FLG_LEAD
from tests.portal.test_database_outage import Gate
from tests.processes import Gunicorn, manage, postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

WEBHOOK_TOKEN = "Wq7Lk2Rt9Yb4Vc8Xm1Nj6Hg3Fd5Sa0Ze-logs"
SANDBOX_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0" * 3
# A line a `%0a` in a path would forge, were control characters written as they are.
FORGED = "2026-01-01 00:00:00,000 CRITICAL [-] forged.logger FORGED"

SEED = """
import json
from django.contrib.auth import get_user_model
from accounts import invites, links
from appointments import booking_links
from appointments.models import AppointmentType, Customer
from privacy import emails as privacy_emails
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

# Once per format: the same customer, with a fresh sign-in link.
user = get_user_model().objects.filter(username="casey@example.com").first()
if user is None:
    user = get_user_model().objects.create_user(
        "casey@example.com", "casey@example.com", "a-long-pass-phrase-9"
    )
    Customer.objects.create(user=user, lead_id="108123758")
kind, _ = AppointmentType.objects.get_or_create(
    slug="consultation",
    defaults={"flg_id": "4da80d92-e6fb-432e-a631-aea2b1e97a05", "name": "Consultation"},
)
uid = urlsafe_base64_encode(force_bytes(user.pk))
print(json.dumps({
    "sign_in": links.sign_in_link_url(user=user, base_url=""),
    "booking": booking_links.booking_link_create(
        customer=user.customer, appointment_type=kind, base_url=""
    ).url,
    "reset": f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/",
    "invite": invites.invite_url(user=user, base_url=""),
    "delete": f"/your-data/delete/link/{privacy_emails.delete_link_token(user=user)}/",
}))
"""


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    try:
        with postgres_database(
            f"secrets_in_logs_{os.getpid()}", why="the logs are read during its outage"
        ) as url:
            yield url
    finally:
        shutil.rmtree(STATIC_ROOT, ignore_errors=True)


STATIC_ROOT = Path(f"/tmp/secrets-in-logs-static-{os.getpid()}")  # noqa: S108


def env(database: str, **overrides: str) -> dict[str, str]:
    return {
        "STATIC_ROOT": str(STATIC_ROOT),
        "SECRET_KEY": "secrets-in-logs-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database,
        "FLG_DOMAIN": "demo.flg360.co.uk",
        "FLG_API_KEY": "production-key",
        "FLG_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        # The sandbox's booking screen is a token-bearing address too.
        "FLG_SANDBOX": "1",
        "FLG_SANDBOX_DEMO_HOST": "1",
        **overrides,
    }


@pytest.fixture(scope="module")
def migrated(database) -> str:
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = manage(*command, timeout=180, **env(database))
        assert done.returncode == 0, done.stderr
    return database


@pytest.fixture
def links(migrated) -> dict[str, str]:
    database = migrated
    seeded = manage("shell", "-c", SEED, **env(database))
    assert seeded.returncode == 0, seeded.stderr
    made = json.loads(seeded.stdout.strip().splitlines()[-1])
    made["webhook"] = f"/flg/webhooks/leads/{WEBHOOK_TOKEN}/"
    made["sandbox"] = f"/sandbox/appointments/book/{SANDBOX_TOKEN}/"
    return made


def secret_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def secrets(links: dict[str, str]) -> list[str]:
    """Each token, and its longest part: what an attacker would need, or most of it."""
    found = []
    for path in links.values():
        token = secret_of(path)
        found += [token, max(re.split(r"[.-]", token), key=len)]
    return found


def ask_everything(base: str, links: dict[str, str], gate: Gate) -> dict[str, set[int]]:
    statuses: dict[str, set[int]] = {}

    def ask(method: str, path: str, **kwargs) -> requests.Response:
        # Each with itself as the Referer: an access log that wrote Referers would show it.
        headers = {"Referer": base + path, **kwargs.pop("headers", {})}
        answer = requests.request(
            method, base + path, headers=headers, allow_redirects=False, timeout=15, **kwargs
        )
        statuses.setdefault(path, set()).add(answer.status_code)
        return answer

    for path in links.values():
        ask("GET", path)  # resolved
        ask("GET", path.rstrip("/"))  # as a mail client may cut it
        ask("GET", path + "junk/x")
        ask("GET", path.rstrip("/") + "%3E.")
        ask("GET", path + "?next=/&utm_source=email")
        ask("POST", path)  # the wrong method (or no CSRF token)
        ask("GET", path.upper())  # does not resolve
        ask("GET", "/accounts/login/?next=" + quote(path, safe=""))

    # A whole sign-in: the link, its page, its button; then the spent link's 410.
    person = requests.Session()
    opened = person.get(base + links["sign_in"], timeout=15)
    assert opened.status_code == 200, (opened.url, opened.status_code, opened.text[:2000])
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', opened.text)
    assert csrf is not None
    signed = person.post(
        opened.url, {"csrfmiddlewaretoken": csrf[1]}, headers={"Referer": opened.url}, timeout=15
    )
    assert signed.status_code == 200 and "Signed in as" in signed.text
    spent = requests.get(base + links["sign_in"], timeout=15)
    assert spent.status_code == 410
    # The lead webhook: a delivery applied, and one during a database outage (503).
    assert ask("POST", links["webhook"], data=FLG_LEAD).status_code == 200
    gate.close()
    try:
        assert ask("POST", links["webhook"], data=FLG_LEAD).status_code == 503
        assert ask("GET", links["sign_in"]).status_code == 503
        assert ask("GET", links["booking"]).status_code == 503
    finally:
        gate.open()
    # Request lines gunicorn refuses itself, and logs as they came.
    for path in (links["sign_in"], links["webhook"]):
        raw(base, f"GET {path} junk HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        raw(base, f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX{path}: 1\r\n\r\n")
    # Control characters in a path, decoded by the portal.
    ask("GET", "/accounts/login/link/x%0a" + quote(FORGED) + "/")
    ask("GET", "/nowhere%0d%0a" + quote(FORGED) + "%0b%1b%7f%c2%85")
    return statuses


def raw(base: str, request: str) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request.encode())
        return conn.recv(65536)


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_no_token_reaches_any_line_gunicorn_writes(tmp_path: Path, database, links, log_format):
    host, port = "127.0.0.1", int(database.rsplit(":", 1)[1].split("/", 1)[0])
    gate = Gate(host, port)
    gated = database.replace(f":{port}/", f":{gate.port}/")
    server = Gunicorn(tmp_path / "gunicorn.log", **env(gated, LOG_FORMAT=log_format))
    try:
        server.wait_ready()
        statuses = ask_everything(server.url, links, gate)
    finally:
        server.stop()
        gate.close()
    text = server.log.read_text()

    seen = set().union(*statuses.values())
    assert {200, 301, 302, 403, 404, 405, 503} <= seen, statuses
    for secret in secrets(links):
        assert secret not in text, f"{secret!r} is in gunicorn's output"
    # Masked, not missing: the lines still say what was asked for.
    assert "/accounts/login/link/[token]/" in text
    assert "/book/consultation/link/[token]" in text
    assert "Service Unavailable: /flg/webhooks/leads/[token]/" in text
    assert "/sandbox/appointments/book/[token]" in text
    assert "/your-data/delete/link/[token]/" in text
    # gunicorn's own error line about a request it refused, masked too.
    assert "Invalid HTTP header name: 'X/flg/webhooks/leads/[token]/'" in text
    # gunicorn's access log is off: the portal writes one line per request itself.
    assert "gunicorn.access" not in text
    assert not re.search(r'\] "(GET|POST) ', text)  # its combined format's request line
    lines = text.splitlines()
    assert not any(line.startswith(FORGED) for line in lines)
    if log_format == "json":
        parsed = [json.loads(line) for line in lines if line.strip()]
        assert [p for p in parsed if p.get("event") == "database_unavailable"] != []
        assert all(p["logger"] != "forged.logger" for p in parsed)
    else:
        assert "The database is unavailable" in text
        assert "/accounts/login/link/[token]\\n2026-01-01 00:00:00,000 CRITICAL" in text
        assert "\\x1b\\x7f\\x85" in text
