"""The booking flow, page by page, with FLG calls counted at the sandbox."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType
from tests.conftest import make_customer


@pytest.fixture
def flg_ready(
    sandbox,
    customer,
    other_customer,
    type_for_all,
    type_for_homeowners,
    type_for_landlords,
    inactive_type,
):
    sandbox.mirror()
    return sandbox


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer.user)
    return client


def start(client, slug="initial-consultation", **data):
    return client.post(f"/book/{slug}/", data)


def session_url(response):
    assert response.status_code == 303, response.content[:500]
    return response["Location"]


# --- Home -----------------------------------------------------------------------------------


def test_home_lists_only_the_types_the_customer_may_book(
    signed_in, type_for_all, type_for_homeowners, type_for_landlords, inactive_type
):
    page = signed_in.get("/").content.decode()
    assert "Initial consultation" in page and "A first call." in page
    assert "Home survey" in page
    assert "Portfolio review" not in page
    assert "Winter check" not in page
    assert page.count('method="post" action="/book/') == 2


def test_home_has_a_friendly_empty_state(signed_in):
    page = signed_in.get("/").content.decode()
    assert "There is nothing to book just now" in page


def test_home_costs_the_same_queries_however_many_types_exist(
    signed_in, homeowners, django_assert_num_queries
):
    AppointmentType.objects.create(flg_id=uuid.uuid4(), name="One")
    with django_assert_num_queries(4) as few:
        signed_in.get("/")
    for n in range(20):
        AppointmentType.objects.create(flg_id=uuid.uuid4(), name=f"Type {n}", lead_group=homeowners)
    with django_assert_num_queries(len(few.captured_queries)):
        assert "Type 19" in signed_in.get("/").content.decode()


# --- Start ----------------------------------------------------------------------------------


def test_start_creates_a_session_and_sees_other_to_its_page(flg_ready, signed_in, customer):
    url = session_url(start(signed_in))
    session = AppointmentSession.objects.get()
    assert url == f"/book/initial-consultation/session/{session.pk}/"
    assert session.customer == customer
    assert session.lead_id == customer.lead_id
    assert flg_ready.calls() == 1


def test_a_second_start_within_seconds_reuses_the_session(flg_ready, signed_in):
    first = session_url(start(signed_in))
    second = session_url(start(signed_in))
    assert first == second
    assert flg_ready.calls() == 1


def test_a_start_after_the_reuse_window_makes_a_fresh_session(flg_ready, signed_in):
    first = session_url(start(signed_in))
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=31)):
        second = session_url(start(signed_in))
    assert first != second
    assert flg_ready.calls() == 2


def test_start_over_always_makes_a_fresh_session(flg_ready, signed_in):
    first = session_url(start(signed_in))
    second = session_url(start(signed_in, start_over="1"))
    assert first != second
    assert flg_ready.calls() == 2


def test_start_is_post_only(signed_in, type_for_all):
    assert signed_in.get("/book/initial-consultation/").status_code == 405


@pytest.mark.parametrize("slug", ["no-such-type", "portfolio-review", "winter-check"])
def test_a_type_not_offered_to_the_customer_is_404(flg_ready, signed_in, slug):
    response = start(signed_in, slug)
    assert response.status_code == 404
    assert "We cannot find that page" in response.content.decode()
    assert flg_ready.calls() == 0


def test_start_needs_sign_in(client, type_for_all):
    response = start(client)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_start_without_a_customer_record_shows_the_not_linked_page(client, type_for_all):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("x", "x@example.com", "pw"))
    assert "not linked to a booking record" in start(client).content.decode()


def test_start_needs_the_csrf_token(flg_ready, customer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer.user)
    response = start(strict)
    assert response.status_code == 403
    assert "Please try again" in response.content.decode()
    assert flg_ready.calls() == 0


# --- The session page -----------------------------------------------------------------------


def test_the_page_embeds_the_booking_screen(flg_ready, signed_in):
    url = session_url(start(signed_in))
    response = signed_in.get(url)
    page = response.content.decode()
    session = AppointmentSession.objects.get()
    assert response.status_code == 200
    assert f'src="{session.public_url}"' in page
    assert 'title="Booking screen for Initial consultation"' in page
    assert re.search(r'<a[^>]+target="_blank" rel="noopener"[^>]*>Open in a new window', page)
    assert 'name="start_over" value="1"' in page
    seconds = int(re.search(r'data-seconds-remaining="(\d+)"', page).group(1))
    assert 1790 <= seconds <= 1800
    assert 'closes in about <span id="countdown-text">29 minutes' in page


def test_the_page_has_no_inline_script_or_style(flg_ready, signed_in):
    page = signed_in.get(session_url(start(signed_in))).content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all("src=" in attrs for attrs in scripts)
    assert " style=" not in page
    assert "<style" not in page


def test_a_reload_makes_no_flg_call(flg_ready, signed_in):
    url = session_url(start(signed_in))
    for _ in range(3):
        assert signed_in.get(url).status_code == 200
    assert flg_ready.calls() == 1


def test_another_customers_session_is_404(flg_ready, signed_in, client):
    url = session_url(start(signed_in))
    intruder = Client()
    intruder.force_login(make_customer("mallory@example.com", "31337", None).user)
    assert intruder.get(url).status_code == 404
    assert intruder.post(url + "refresh/").status_code == 404
    assert flg_ready.calls() == 1


def test_a_session_under_another_types_address_is_404(flg_ready, signed_in):
    url = session_url(start(signed_in))
    assert signed_in.get(url.replace("initial-consultation", "home-survey")).status_code == 404


def test_the_page_costs_the_same_queries_however_many_sessions_exist(
    flg_ready, signed_in, customer, type_for_all, django_assert_num_queries
):
    url = session_url(start(signed_in))
    with django_assert_num_queries(4) as few:
        signed_in.get(url)
    AppointmentSession.objects.bulk_create(
        AppointmentSession(
            flg_session_id=uuid.uuid4(),
            customer=customer,
            appointment_type=type_for_all,
            lead_id=customer.lead_id,
            public_url="https://platform.getflg.com/x",
            closes_at=timezone.now() - dt.timedelta(hours=1),
        )
        for _ in range(50)
    )
    with django_assert_num_queries(len(few.captured_queries)):
        signed_in.get(url)


def test_a_due_session_is_replaced_with_one_call_and_a_redirect(flg_ready, signed_in, settings):
    url = session_url(start(signed_in))
    later = timezone.now() + dt.timedelta(seconds=1800 - settings.BOOKING_REFRESH_MARGIN + 1)
    with time_machine.travel(later):
        response = signed_in.get(url)
    assert response.status_code == 303
    assert response["Location"] != url
    assert flg_ready.calls() == 2


def test_a_session_flg_hands_back_already_due_is_shown_not_looped(flg_ready, signed_in, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 30  # less than the 60 s refresh margin
    url = session_url(start(signed_in))
    assert flg_ready.calls() == 1
    response = signed_in.get(url)
    assert response.status_code == 200
    assert flg_ready.calls() == 2
    page = response.content.decode()
    assert int(re.search(r'data-seconds-remaining="(\d+)"', page).group(1)) <= 30
    new_url = re.search(r'data-page-url="([^"]+)"', page).group(1)
    assert new_url != url
    assert signed_in.get(new_url).status_code == 200
    assert flg_ready.calls() == 3


# --- Refresh --------------------------------------------------------------------------------


def test_refresh_answers_a_fresh_session_as_json(flg_ready, signed_in, settings):
    url = session_url(start(signed_in))
    later = timezone.now() + dt.timedelta(seconds=1800 - settings.BOOKING_REFRESH_MARGIN + 1)
    with time_machine.travel(later):
        response = signed_in.post(url + "refresh/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"id", "publicUrl", "closesAt", "secondsRemaining", "pageUrl"}
    fresh = AppointmentSession.objects.get(pk=body["id"])
    assert body["pageUrl"] == f"/book/initial-consultation/session/{fresh.pk}/"
    assert body["publicUrl"] == fresh.public_url
    assert body["closesAt"].endswith("Z")
    assert flg_ready.calls() == 2


def test_refresh_needs_the_csrf_token(flg_ready, customer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer.user)
    home = strict.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home).group(1)
    url = session_url(strict.post("/book/initial-consultation/", {"csrfmiddlewaretoken": token}))
    assert strict.post(url + "refresh/").status_code == 403
    page = strict.get(url).content.decode()
    header = re.search(r'data-csrf-token="([^"]+)"', page).group(1)
    assert strict.post(url + "refresh/", HTTP_X_CSRFTOKEN=header).status_code == 200


def test_refresh_when_signed_out_is_a_json_401(client, flg_ready):
    response = client.post(f"/book/initial-consultation/session/{uuid.uuid4()}/refresh/")
    assert response.status_code == 401
    assert response.json()["error"] == "signed_out"


@pytest.mark.parametrize(
    ("mode", "status", "code"), [("503", 503, "unavailable"), ("malformed", 502, "protocol_error")]
)
def test_a_failed_refresh_says_why_as_json(flg_ready, signed_in, mode, status, code):
    url = session_url(start(signed_in))
    flg_ready.fault(mode)
    response = signed_in.post(url + "refresh/", {"force": "1"})
    # The session is fresh, so refresh reuses it; force a real call by making it due.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=29, seconds=30)):
        response = signed_in.post(url + "refresh/")
    body = response.json()
    assert response.status_code == status
    assert body["error"] == code
    assert "FLG said" not in body["message"]
    assert "sandbox-appointments-key" not in response.content.decode()


# --- Error pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "retry"),
    [
        ("503", 503, True),
        ("429", 503, True),
        ("500", 503, True),
        ("malformed", 502, True),
        ("html", 502, True),
    ],
)
def test_flg_trouble_gets_an_error_page_in_our_layout(flg_ready, signed_in, mode, status, retry):
    flg_ready.fault(mode)
    response = start(signed_in)
    page = response.content.decode()
    assert response.status_code == status
    assert "We could not open the booking screen" in page
    assert "help@acme.example" in page
    assert "Skip to main content" in page
    assert ("Try again" in page) is retry
    assert "FLG said" not in page and "Traceback" not in page


@pytest.mark.parametrize("problem", ["wrong key", "no permission", "unknown type", "not set"])
def test_a_configuration_problem_gets_an_error_page_without_retry(
    flg_ready, signed_in, settings, problem
):
    from flg_sandbox.models import AppointmentType as SandboxType

    if problem == "wrong key":
        settings.FLG_API_KEY = "wrong"
    elif problem == "no permission":
        settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    elif problem == "unknown type":
        SandboxType.objects.all().delete()
    else:
        settings.FLG_BASE_URL = ""
    response = start(signed_in)
    page = response.content.decode()
    assert response.status_code == (503 if problem == "not set" else 502)
    assert "help@acme.example" in page
    assert "Try again" not in page
    assert settings.FLG_API_KEY not in page or not settings.FLG_API_KEY


def test_too_many_new_sessions_get_a_friendly_429(flg_ready, signed_in):
    for _ in range(10):
        session_url(start(signed_in, start_over="1"))
    response = start(signed_in, start_over="1")
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert flg_ready.calls() == 10


def test_an_unknown_page_is_a_404_in_our_layout(signed_in):
    response = signed_in.get("/no/such/page/")
    assert response.status_code == 404
    assert "Skip to main content" in response.content.decode()


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
