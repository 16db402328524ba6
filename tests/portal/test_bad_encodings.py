"""A body in a charset no text codec reads is a 400 with a short message, never a 500.

Python knows base64, zlib, hex, bz2 and rot13 as codecs too, but not text encodings: bytes
decoded with one (or with an unknown name) raise LookupError wherever a body is read.
"""

from __future__ import annotations

import re

import pytest
import requests
from django.test import Client

from tests.processes import Gunicorn, manage

pytestmark = pytest.mark.django_db

REFUSED = {
    "error": "unreadable_charset",
    "message": "This request's charset cannot be read. Send it as UTF-8.",
}

TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-enc"
WEBHOOK = f"/flg/webhooks/leads/{TOKEN}/"
FORMS = ["/accounts/login/", "/accounts/login/link/", "/admin/login/"]
CHARSETS = ["rot13", "base64", "zlib", "hex", "bz2", "no-such-charset"]
BODY = b"username=casey%40example.com&password=wrong&email=casey%40example.com"


@pytest.fixture(autouse=True)
def _webhook_on(settings):
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]


def with_csrf(path: str) -> tuple[Client, bytes]:
    """A browser that fetched the form first, so the CSRF check itself reads the body."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    page = client.get(path).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    return client, f"csrfmiddlewaretoken={found[1]}&".encode() + BODY


def post(client: Client, path: str, body: bytes, charset: str):
    # generic(): post() would itself encode the body in the charset, and fail like the server.
    return client.generic(
        "POST", path, body, content_type=f"application/x-www-form-urlencoded; charset={charset}"
    )


@pytest.mark.parametrize("charset", CHARSETS)
@pytest.mark.parametrize("path", FORMS)
def test_a_form_posted_in_a_charset_that_is_no_text_encoding_is_a_400(path, charset):
    client, body = with_csrf(path)
    response = post(client, path, body, charset)
    assert response.status_code == 400
    assert response.json() == REFUSED


@pytest.mark.parametrize("charset", CHARSETS)
def test_the_lead_webhook_answers_400_to_such_a_charset_and_records_nothing(charset):
    from appointments.models import Customer

    body = b"id=4242&email=casey%40example.com&firstname=Casey"
    response = post(Client(raise_request_exception=False), WEBHOOK, body, charset)
    assert response.status_code == 400
    assert response.json() == REFUSED
    assert not Customer.objects.exists()


def test_a_form_in_a_text_charset_django_refuses_is_a_400_page_not_a_500():
    # Django reads urlencoded forms as UTF-8 only and raises BadRequest for any other charset;
    # its own 400 handler then ran the CSRF check again, which raised again: a 500.
    client, body = with_csrf("/accounts/login/")
    response = post(client, "/accounts/login/", body, "utf-16")
    assert response.status_code == 400
    assert "Something was wrong with that request" in response.content.decode()


def test_a_declared_utf_8_or_latin_1_body_is_still_read():
    client, body = with_csrf("/accounts/login/")
    assert post(client, "/accounts/login/", body, "UTF-8").status_code == 200
    # FLG may declare its charset: the webhook still decodes Latin-1.
    latin = b"id=4243&email=jose%40example.com&firstname=Jos\xe9"
    answer = post(Client(), WEBHOOK, latin, "iso-8859-1")
    assert answer.status_code == 200, answer.content


@pytest.mark.subprocess
def test_gunicorn_answers_400_to_each_such_charset_on_every_form_and_the_webhook(tmp_path):
    env = {
        "SECRET_KEY": "bad-encodings-test-" + "s" * 50,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "FLG_DOMAIN": "demo.flg360.co.uk",
        "FLG_API_KEY": "production-key",
        "FLG_WEBHOOK_TOKEN": TOKEN,
        "SECURE_SSL_REDIRECT": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SESSION_COOKIE_SECURE": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "LOG_FORMAT": "json",
    }
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = manage(*command, timeout=180, **env)
        assert done.returncode == 0, done.stderr
    server = Gunicorn(tmp_path / "gunicorn.log", **env).wait_ready()
    seen = {}
    try:
        for path in [*FORMS, WEBHOOK]:
            browser = requests.Session()
            page = browser.get(server.url + path, timeout=10).text
            found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            body = (f"csrfmiddlewaretoken={found[1]}&".encode() if found else b"") + BODY
            for charset in [*CHARSETS, "utf-16"]:
                answer = browser.post(
                    server.url + path,
                    data=body,
                    headers={
                        "Content-Type": f"application/x-www-form-urlencoded; charset={charset}",
                        "Referer": server.url + path,
                    },
                    allow_redirects=False,
                    timeout=10,
                )
                seen[(path, charset)] = answer.status_code
    finally:
        server.stop()
    log = server.log.read_text()
    assert {k: v for k, v in seen.items() if v != 400} == {}
    assert "LookupError" not in log and '"status": 500' not in log
