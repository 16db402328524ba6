"""Production-like settings with the sandbox on: the portal's own sandbox calls still work."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.processes import manage

# Every test here reads the settings a fresh `manage.py` process builds.
pytestmark = pytest.mark.subprocess

TYPE_ID = "39594a1c-72db-4990-a63f-8d5139a5e4e1"  # type_for_all

SHOW = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps(s.SECURE_REDIRECT_EXEMPT))"
)
PRODUCTION_LIKE = {
    "SECRET_KEY": "Yq3-production-like-secret-7hV9kQ2mZx8WcT4pLr6NbD1sFg5JuE0aHo-iKy",
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "FLG_SANDBOX": "1",
    "SECURE_SSL_REDIRECT": "1",
}


def redirect_exempt(**env: str) -> list[str]:
    done = manage("shell", "-c", SHOW, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def production_like(flg_cast, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = redirect_exempt(**PRODUCTION_LIKE)
    return flg_cast


@pytest.fixture
def flg_cast(sandbox, customer, type_for_all):
    sandbox.mirror()
    return sandbox


def test_the_sandbox_api_answers_the_portal_over_plain_http(production_like, customer):
    # What the portal's FLG client sends to its default base URL, http://127.0.0.1:8000/sandbox;
    # the client never follows a redirect, so a 301 here fails every start.
    response = Client().post(
        "/sandbox/api/v2/appointment-sessions",
        data=json.dumps({"lead": customer.lead_id, "appointmentType": TYPE_ID}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {production_like.GOOD_KEY}",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["lead"] == customer.lead_id
    assert production_like.calls() == 1


def test_the_portal_itself_is_still_redirected_to_https(production_like, client):
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_with_a_real_flg_domain_nothing_is_exempt_but_the_probes():
    exempt = redirect_exempt(**PRODUCTION_LIKE, FLG_DOMAIN="demo.flg360.co.uk")
    # and /metrics, which Prometheus scrapes by the pod's address over plain http
    assert exempt == ["^healthz$", "^readyz$", "^metrics$"]
