"""The booking flow, page by page, with FLG calls counted at the sandbox."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType
from tests.appointments.pages import (
    LAYOUT,
    START_URL,
    SUPPORT,
    assert_portal_error_page,
    due_moment,
    newest_session,
    page_url,
    seconds_remaining,
    session_url,
    start,
    tags,
)
from tests.conftest import make_customer

# --- Home -----------------------------------------------------------------------------------


def test_home_lists_the_types_the_customer_may_book_each_with_a_book_form(
    signed_in, type_for_all, type_for_homeowners, type_for_landlords, inactive_type
):
    response = signed_in.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Initial consultation" in page and "A first call." in page
    assert "Home survey" in page
    assert "Portfolio review" not in page
    assert "Winter check" not in page
    forms = [(f["method"], f["action"]) for f in tags(page, "form") if "/book/" in f["action"]]
    assert forms == [("post", "/book/initial-consultation/"), ("post", "/book/home-survey/")]
    assert page.count('name="csrfmiddlewaretoken"') >= 2


def test_home_has_a_friendly_empty_state(signed_in):
    page = signed_in.get("/").content.decode()
    assert "There is nothing to book just now" in page
    assert SUPPORT in page
    assert 'action="/book/' not in page


def test_home_tells_a_user_without_a_customer_record_that_it_is_not_linked(
    unlinked_client, type_for_all
):
    response = unlinked_client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "not linked to a booking record" in page
    assert "Initial consultation" not in page


def test_home_needs_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_home_costs_the_same_queries_however_many_types_exist(
    signed_in, homeowners, django_assert_num_queries
):
    AppointmentType.objects.create(flg_id=uuid.uuid4(), name="One")
    signed_in.get("/")  # the first request after sign-in may differ; measure the second
    with CaptureQueriesContext(connection) as one_type:
        assert "One" in signed_in.get("/").content.decode()
    for n in range(19):
        AppointmentType.objects.create(flg_id=uuid.uuid4(), name=f"Type {n}", lead_group=homeowners)
    with django_assert_num_queries(len(one_type.captured_queries)):
        assert "Type 18" in signed_in.get("/").content.decode()


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
    assert AppointmentSession.objects.count() == 1
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
    third = session_url(start(signed_in, start_over="1"))
    assert len({first, second, third}) == 3
    assert flg_ready.calls() == 3


def test_a_get_of_start_shows_the_types_page_and_calls_no_one(flg_ready, signed_in):
    # Where a sign-in that began at this address returns: a page, not a 405.
    page = signed_in.get(START_URL)
    assert page.status_code == 200
    form = '<form method="post" action="/book/initial-consultation/" data-busy="Opening the booking'
    assert form in page.content.decode()
    assert flg_ready.calls() == 0


@pytest.mark.parametrize(
    "slug",
    [
        pytest.param("no-such-type", id="unknown"),
        pytest.param("portfolio-review", id="another-lead-group"),
        pytest.param("winter-check", id="inactive"),
    ],
)
def test_a_type_not_offered_to_the_customer_is_404(flg_ready, signed_in, slug):
    response = start(signed_in, slug)
    page = response.content.decode()
    assert response.status_code == 404
    assert "We cannot find that page" in page
    assert LAYOUT in page
    assert flg_ready.calls() == 0


def test_start_without_a_customer_record_shows_the_not_linked_page(flg_ready, unlinked_client):
    response = start(unlinked_client)
    assert response.status_code == 200
    assert "not linked to a booking record" in response.content.decode()
    assert flg_ready.calls() == 0


def test_start_needs_sign_in(flg_ready, client):
    response = start(client)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert flg_ready.calls() == 0


def test_start_needs_the_csrf_token(flg_ready, customer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer.user)
    response = start(strict)
    page = response.content.decode()
    assert response.status_code == 403
    assert "Please try again" in page
    assert LAYOUT in page
    assert flg_ready.calls() == 0
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', strict.get("/").content.decode()
    )
    assert start(strict, csrfmiddlewaretoken=token.group(1)).status_code == 303
    assert flg_ready.calls() == 1


# --- The session page -----------------------------------------------------------------------


def test_the_page_embeds_the_booking_screen(flg_ready, signed_in):
    url = session_url(start(signed_in))
    response = signed_in.get(url)
    page = response.content.decode()
    session = AppointmentSession.objects.get()
    assert response.status_code == 200
    [frame] = tags(page, "iframe")
    assert frame["src"] == session.public_url
    assert frame["title"] == "Booking screen for Initial consultation"
    [new_window] = [a for a in tags(page, "a") if a.get("id") == "open-new-window"]
    assert new_window["href"] == session.public_url
    assert new_window["target"] == "_blank"
    # The screen in its own window reports a booking back to this page: it keeps its opener,
    # and the page's COOP lets it (FLG is trusted enough to frame; it may message us too).
    assert new_window["rel"] == "opener"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"
    assert "Open in a new window" in page
    [start_over] = [f for f in tags(page, "form") if f.get("id") == "start-over"]
    assert start_over["method"] == "post" and start_over["action"] == START_URL
    assert '<input type="hidden" name="start_over" value="1">' in page
    assert 1790 <= seconds_remaining(page) <= 1800
    assert 'closes <span id="countdown-text">in about 29 minutes</span>' in page
    assert "/static/js/booking.js" in [s["src"] for s in tags(page, "script")]


def test_the_page_has_no_inline_script_or_style(flg_ready, signed_in):
    page = signed_in.get(session_url(start(signed_in))).content.decode()
    scripts = tags(page, "script")
    assert scripts and all(s.get("src") for s in scripts)
    assert not [attrs for attrs in tags(page) if "style" in attrs]
    assert not tags(page, "style")
    assert not [name for attrs in tags(page) for name in attrs if name.startswith("on")]


def test_a_reload_makes_no_flg_call(flg_ready, signed_in):
    url = session_url(start(signed_in))
    for _ in range(3):
        assert signed_in.get(url).status_code == 200
    assert flg_ready.calls() == 1


def test_another_customers_session_is_404(flg_ready, signed_in):
    url = session_url(start(signed_in))
    intruder = Client()
    intruder.force_login(make_customer("mallory@example.com", "31337", None).user)
    response = intruder.get(url)
    assert response.status_code == 404
    assert "We cannot find that page" in response.content.decode()
    assert flg_ready.calls() == 1


def test_a_session_under_another_types_address_is_404(flg_ready, signed_in):
    url = session_url(start(signed_in))
    assert signed_in.get(url.replace("initial-consultation", "home-survey")).status_code == 404
    assert flg_ready.calls() == 1


def test_the_session_page_needs_sign_in(flg_ready, signed_in):
    url = session_url(start(signed_in))
    signed_in.logout()
    response = signed_in.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/book/")


def test_the_session_page_without_a_customer_record_shows_the_not_linked_page(
    flg_ready, unlinked_client
):
    response = unlinked_client.get(f"{START_URL}session/{uuid.uuid4()}/")
    assert "not linked to a booking record" in response.content.decode()


@pytest.mark.parametrize("change", ["type switched off", "customer moved to another group"])
def test_a_session_of_a_type_no_longer_offered_is_404(
    flg_ready, signed_in, customer, type_for_all, landlords, settings, change
):
    url = session_url(start(signed_in))
    if change == "type switched off":
        type_for_all.is_active = False
        type_for_all.save()
    else:
        type_for_all.lead_group = customer.lead_group
        type_for_all.save()
        customer.lead_group = landlords
        customer.save()
    with time_machine.travel(due_moment(settings)):
        assert signed_in.get(url).status_code == 404
        assert signed_in.post(url + "refresh/").status_code == 404
    assert flg_ready.calls() == 1


def test_the_page_costs_the_same_queries_however_many_sessions_exist(
    flg_ready, signed_in, customer, type_for_all, django_assert_num_queries
):
    url = session_url(start(signed_in))
    signed_in.get(url)
    with CaptureQueriesContext(connection) as one_session:
        assert signed_in.get(url).status_code == 200
    AppointmentSession.objects.bulk_create(
        AppointmentSession(
            flg_session_id=uuid.uuid4(),
            customer=customer,
            appointment_type=type_for_all,
            lead_id=customer.lead_id,
            public_url="https://platform.getflg.com/x",
            closes_at=timezone.now() + dt.timedelta(minutes=n % 40 - 20),
        )
        for n in range(50)
    )
    with django_assert_num_queries(len(one_session.captured_queries)):
        assert signed_in.get(url).status_code == 200


def test_a_due_session_is_replaced_with_one_call_and_a_redirect(flg_ready, signed_in, settings):
    url = session_url(start(signed_in))
    with time_machine.travel(due_moment(settings)):
        response = signed_in.get(url)
        assert flg_ready.calls() == 2
        fresh = newest_session()
        assert session_url(response) == page_url(fresh)
        assert page_url(fresh) != url
        follow = signed_in.get(page_url(fresh))
    assert follow.status_code == 200
    assert f'src="{fresh.public_url}"' in follow.content.decode()
    assert flg_ready.calls() == 2


def test_a_session_flg_hands_back_already_due_is_shown_not_looped(flg_ready, signed_in, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 30  # shorter than the 60 s refresh margin
    url = session_url(start(signed_in))
    assert flg_ready.calls() == 1
    for view in (1, 2, 3):
        response = signed_in.get(url)
        page = response.content.decode()
        assert response.status_code == 200
        assert flg_ready.calls() == 1 + view
        assert seconds_remaining(page) <= 30
        assert 'closes <span id="countdown-text">in less than a minute</span>' in page
        assert "about less than" not in page
        shown = re.search(r'data-page-url="([^"]+)"', page).group(1)
        assert shown == page_url(newest_session()) != url


def test_a_due_page_whose_refresh_fails_offers_to_try_again(flg_ready, signed_in, settings, caplog):
    url = session_url(start(signed_in))
    flg_ready.fault("500")
    with time_machine.travel(due_moment(settings)):
        response = signed_in.get(url)
    page = assert_portal_error_page(response, caplog)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert {"class": "button", "href": url} in tags(page, "a")
    assert flg_ready.calls() == 2


def test_a_due_page_past_the_session_limit_is_a_429(flg_ready, signed_in, settings):
    settings.BOOKING_SESSIONS_PER_MINUTE = 1
    settings.FLG_SANDBOX_SESSION_TTL = 30  # born due, so the page must ask for another
    url = session_url(start(signed_in))
    response = signed_in.get(url)
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert flg_ready.calls() == 1
