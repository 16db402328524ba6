"""The booking page's refresh endpoint and the error pages a failed start or refresh shows."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid

import pytest
import time_machine
from django.test import Client

from appointments import failures
from appointments.models import AppointmentSession
from flg import errors, sessions
from tests.appointments.pages import (
    BUSY,
    LAYOUT,
    START_URL,
    SUPPORT,
    assert_portal_error_page,
    due_moment,
    logged_details,
    page_url,
    session_url,
    start,
    tags,
)
from tests.conftest import make_customer

# --- Refresh --------------------------------------------------------------------------------


def test_refresh_answers_a_fresh_session_as_json(flg_ready, signed_in, settings):
    url = session_url(start(signed_in))
    with time_machine.travel(due_moment(settings)):
        response = signed_in.post(url + "refresh/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "id",
        "publicUrl",
        "closesAt",
        "secondsRemaining",
        "pageUrl",
        "flgSessionId",
        "reference",
    }
    fresh = AppointmentSession.objects.get(pk=body["id"])
    assert body["pageUrl"] == page_url(fresh) != url
    assert body["publicUrl"] == fresh.public_url
    assert body["flgSessionId"] == str(fresh.flg_session_id)
    assert body["closesAt"].endswith("Z")
    closes_at = sessions.parse_closes_at(body["closesAt"])
    assert abs(closes_at - fresh.closes_at) < dt.timedelta(milliseconds=1)
    assert 1790 <= body["secondsRemaining"] <= 1800
    assert "no-store" in response["Cache-Control"]
    assert flg_ready.calls() == 2


def test_refresh_of_another_customers_session_is_a_json_404(flg_ready, signed_in):
    url = session_url(start(signed_in))
    intruder = Client()
    intruder.force_login(make_customer("mallory@example.com", "31337", None).user)
    response = intruder.post(url + "refresh/")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "message"}
    assert flg_ready.calls() == 1


def test_refresh_needs_the_csrf_token(flg_ready, customer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer.user)
    home = strict.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home).group(1)
    url = session_url(start(strict, csrfmiddlewaretoken=token))
    assert strict.post(url + "refresh/").status_code == 403
    assert flg_ready.calls() == 1
    page = strict.get(url).content.decode()
    header = re.search(r'data-csrf-token="([^"]+)"', page).group(1)
    response = strict.post(url + "refresh/", HTTP_X_CSRFTOKEN=header)
    assert response.status_code == 200
    assert flg_ready.calls() == 2


def test_refresh_when_signed_out_is_a_json_401(flg_ready, signed_in):
    url = session_url(start(signed_in))
    signed_in.logout()
    response = signed_in.post(url + "refresh/")
    body = response.json()
    assert response.status_code == 401
    assert set(body) == {"error", "message"}
    assert body["error"] == "signed_out"
    assert flg_ready.calls() == 1


def test_refresh_without_a_customer_record_is_a_json_403(flg_ready, unlinked_client):
    response = unlinked_client.post(f"{START_URL}session/{uuid.uuid4()}/refresh/")
    assert response.status_code == 403
    assert response.json()["error"] == "not_linked"
    assert flg_ready.calls() == 0


def test_refresh_is_post_only(flg_ready, signed_in):
    url = session_url(start(signed_in))
    assert signed_in.get(url + "refresh/").status_code == 405
    assert flg_ready.calls() == 1


@pytest.mark.parametrize(
    ("mode", "status", "error", "calls"),
    [
        ("503", 503, errors.FlgUnavailable, 2),  # one retry on a gateway error
        ("malformed", 502, errors.FlgProtocolError, 1),
    ],
)
def test_a_failed_refresh_says_why_as_json(flg_ready, signed_in, mode, status, error, calls):
    url = session_url(start(signed_in))
    flg_ready.fault(mode)
    response = signed_in.post(url + "refresh/")
    body = response.json()
    assert response.status_code == status
    assert body == {"error": error.code, "message": failures.customer_message(error)}
    text = response.content.decode()
    assert "Injected fault" not in text and "0260be7f" not in text
    assert flg_ready.GOOD_KEY not in text
    assert response["Retry-After"] == "30"
    assert flg_ready.calls() == 1 + calls


def test_refresh_past_the_session_limit_is_a_json_429(flg_ready, signed_in, settings):
    settings.BOOKING_SESSIONS_PER_MINUTE = 1
    url = session_url(start(signed_in))
    response = signed_in.post(url + "refresh/")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert flg_ready.calls() == 1


def test_a_refresh_never_hands_back_an_older_session(flg_ready, signed_in):
    older = session_url(start(signed_in))
    newer = session_url(start(signed_in, start_over="1"))
    assert older != newer
    body = signed_in.post(newer + "refresh/").json()
    assert body["pageUrl"] not in (older, newer)
    assert flg_ready.calls() == 3


def test_a_second_tab_refreshing_gets_the_first_tabs_fresh_session(flg_ready, signed_in):
    page = session_url(start(signed_in))
    first = signed_in.post(page + "refresh/").json()
    second = signed_in.post(page + "refresh/").json()
    assert first["id"] == second["id"]
    assert flg_ready.calls() == 2


# --- Error pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "error", "calls"),
    [
        ("503", 503, errors.FlgUnavailable, 2),  # one retry on a gateway error
        ("429", 503, errors.FlgUnavailable, 1),  # FLG is busy: a 503; our own 429 is for our limit
        ("500", 503, errors.FlgUnavailable, 1),
        ("malformed", 502, errors.FlgProtocolError, 1),
        ("html", 502, errors.FlgProtocolError, 1),
    ],
)
def test_flg_trouble_gets_an_error_page_with_a_retry(
    flg_ready, signed_in, caplog, mode, status, error, calls
):
    flg_ready.fault(mode)
    response = start(signed_in)
    page = assert_portal_error_page(response, caplog)
    assert response.status_code == status
    assert "We could not open the booking screen" in page
    assert failures.customer_message(error) in page
    assert response["Retry-After"] == "30"
    assert {"method": "post", "action": START_URL, "data-busy": BUSY} in tags(page, "form")
    assert "Try again" in page
    assert AppointmentSession.objects.count() == 0
    assert flg_ready.calls() == calls


def test_flg_not_answering_in_time_gets_an_error_page_with_a_retry(
    flg_ready, signed_in, settings, caplog
):
    settings.FLG_TIMEOUT = 1
    flg_ready.fault("hang", hang_seconds=2)
    began = time.monotonic()
    response = start(signed_in)
    # Let the sandbox finish hanging while this test may still use the database.
    time.sleep(max(0, began + 2.5 - time.monotonic()))
    page = assert_portal_error_page(response, caplog)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert {"method": "post", "action": START_URL, "data-busy": BUSY} in tags(page, "form")
    assert flg_ready.calls() == 1


@pytest.mark.parametrize(
    ("problem", "status", "error", "calls"),
    [
        ("unknown type at FLG", 502, errors.FlgRejected, 1),
        ("wrong key", 502, errors.FlgKeyInvalid, 1),
        ("key without appointments", 502, errors.FlgKeyForbidden, 1),
        ("FLG not configured", 503, errors.FlgNotConfigured, 0),
    ],
)
def test_a_configuration_problem_gets_an_error_page_without_retry(
    flg_ready, signed_in, settings, caplog, problem, status, error, calls
):
    from flg_sandbox.models import AppointmentType as SandboxType

    if problem == "unknown type at FLG":
        SandboxType.objects.all().delete()
    elif problem == "wrong key":
        settings.FLG_API_KEY = "wrong"
    elif problem == "key without appointments":
        settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    else:
        settings.FLG_BASE_URL = ""
    response = start(signed_in)
    page = assert_portal_error_page(response, caplog)
    assert response.status_code == status
    assert failures.customer_message(error) in page
    assert "Try again" not in page
    assert not [f for f in tags(page, "form") if f["action"] == START_URL]
    assert not response.has_header("Retry-After")
    assert flg_ready.NO_APPOINTMENTS_KEY not in page and flg_ready.GOOD_KEY not in page
    assert flg_ready.calls() == calls


def test_too_many_new_sessions_get_a_friendly_429(flg_ready, signed_in):
    for _ in range(10):
        session_url(start(signed_in, start_over="1"))
    response = start(signed_in, start_over="1")
    page = response.content.decode()
    assert response.status_code == 429
    assert "Please wait a moment" in page
    assert LAYOUT in page and SUPPORT in page
    assert 0 < int(response["Retry-After"]) <= 60
    assert flg_ready.calls() == 10


def test_an_unknown_page_is_a_404_in_our_layout(signed_in):
    response = signed_in.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "We cannot find that page" in page
    assert LAYOUT in page and SUPPORT in page


def test_the_admin_detail_goes_to_the_log_without_the_key(flg_ready, signed_in, caplog):
    flg_ready.fault("500")
    with caplog.at_level(logging.WARNING, logger="appointments.views"):
        start(signed_in)
    [detail] = logged_details(caplog)
    assert "500" in detail
    assert flg_ready.GOOD_KEY not in detail
