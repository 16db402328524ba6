"""The lead webhook's endpoint: tokens, methods, bodies and content types, and never a 500."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from appointments.models import Customer, LeadDelivery
from bookingportal.logging import JsonFormatter
from flg import webhooks
from tests.appointments.lead_webhook import FORM, OLD_TOKEN, TOKEN
from tests.flg.test_webhooks import FLG_LEAD

# --- Guards -----------------------------------------------------------------------------------


def test_without_a_token_configured_the_endpoint_does_not_exist(webhook, settings):
    settings.FLG_WEBHOOK_TOKENS = []
    assert webhook.post().status_code == 404
    assert not LeadDelivery.objects.exists()


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()])
def test_a_wrong_token_is_a_page_that_does_not_exist(webhook, token):
    assert webhook.post(token=token).status_code == 404
    assert not Customer.objects.exists()


def test_during_a_change_over_both_tokens_work(webhook, settings):
    settings.FLG_WEBHOOK_TOKENS = [TOKEN, OLD_TOKEN]
    assert webhook.post(token=OLD_TOKEN).json()["outcome"] == "created"
    assert webhook.post(token=TOKEN).json()["outcome"] == "unchanged"


def test_a_url_pasted_without_its_trailing_slash_works(webhook):
    response = requests.post(webhook.url().rstrip("/"), data=FLG_LEAD, timeout=10)
    assert response.json()["outcome"] == "created"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_any_method_but_post_is_405(webhook, method):
    response = webhook.send(urlencode(FLG_LEAD), method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def test_a_body_over_64_kib_is_413(webhook):
    response = webhook.send(urlencode({**FLG_LEAD, "term": "x" * 65536}))
    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "message": "The body is over 64 KiB; no lead is.",
    }
    assert not Customer.objects.exists()


def test_a_body_of_exactly_64_kib_is_read(webhook):
    body = urlencode({**FLG_LEAD, "term": ""})
    body += "x" * (webhooks.MAX_BODY_BYTES - len(body))
    assert webhook.send(body).json()["outcome"] == "created"


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x", ""]
)
def test_a_body_that_is_not_a_form_is_415(webhook, content_type):
    response = webhook.send('{"id": "123456789"}', content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert FORM in response.json()["message"]


def test_a_form_with_a_charset_is_a_form(webhook):
    response = webhook.send(urlencode(FLG_LEAD), content_type=f"{FORM}; charset=UTF-8")
    assert response.json()["outcome"] == "created"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"id": None}, "missing_id"),
        ({"id": ""}, "missing_id"),
        ({"id": "12345678a"}, "invalid_id"),
        ({"id": "1" * 21}, "invalid_id"),
        ({"leadgroupid": "Mortgages"}, "invalid_lead_group"),
    ],
)
def test_a_delivery_that_cannot_be_a_lead_is_400_with_what_is_wrong(webhook, changes, error):
    response = webhook.post(**changes)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error and body["message"]
    assert not Customer.objects.exists() and not LeadDelivery.objects.exists()


def test_the_answer_is_json_never_cached_and_needs_no_csrf_token(webhook):
    response = webhook.post()
    assert response.headers["Content-Type"] == "application/json"
    assert "no-cache" in response.headers["Cache-Control"]


def test_the_token_appears_in_no_log_record(webhook, caplog):
    caplog.set_level(logging.DEBUG)
    webhook.post()
    webhook.post(id="x")
    webhook.send(urlencode(FLG_LEAD), method="GET")
    webhook.send("{}", content_type="application/json")
    webhook.send("x" * 70000)
    webhook.post(token=TOKEN + "x")
    # Refused before URL resolution: Django logs the bad host, we log the request.
    requests.post(webhook.url(), data=FLG_LEAD, headers={"Host": "evil.example"}, timeout=10)
    formatters = [logging.Formatter("%(name)s %(message)s"), JsonFormatter()]
    # The portal's records: the test's own HTTP client (FLG's side) logs where it posts.
    records = [r for r in caplog.records if not r.name.startswith("urllib3")]
    lines = [f.format(record) for record in records for f in formatters]
    assert any("/flg/webhooks/leads/[token]/" in line for line in lines)
    assert [line for line in lines if TOKEN in line] == []


# --- Any body at all --------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
lead_ids = st.sampled_from(["123456789", "108123759", "5"]) | st.from_regex(r"\A\d{1,22}\Z") | text
form_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": lead_ids,
        "email": st.emails() | text,
        "firstname": text,
        "lastname": text,
        "fullname": text,
        "leadgroupid": st.sampled_from(["101", "102", "0", "-1", "2147483648"]) | text,
        "leadgroupname": text,
        "status": st.sampled_from(["Dead", "Quoted"]) | text,
    },
).flatmap(
    lambda fields: st.dictionaries(text, text, max_size=4).map(lambda extra: {**extra, **fields})
)
bodies = (
    form_fields.map(lambda fields: urlencode(fields).encode())
    | st.binary(max_size=300)
    | st.integers(60_000, 70_000).map(lambda n: b"id=1&term=" + b"x" * n)
)
content_types = st.sampled_from(
    [FORM, f"{FORM}; charset=utf-8", f"{FORM}; charset=bogus", "application/json", "text/plain", ""]
)
methods = st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"])


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=methods, content_type=content_types, body=bodies)
def test_any_request_gets_200_400_405_413_or_415_and_never_a_500(
    webhook, settings, method, content_type, body
):
    settings.FLG_WEBHOOK_NO_BOOKING_STATUSES = ["Dead"]
    response = webhook.send(body, content_type=content_type, method=method)
    assert response.status_code in {200, 400, 405, 413, 415}, response.text[:300]
    answer = response.json()
    assert ("outcome" in answer) if response.status_code == 200 else ("error" in answer)
