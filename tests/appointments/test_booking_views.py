"""The booking flow, page by page, with FLG calls counted at the sandbox."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments import failures
from appointments.models import AppointmentSession, AppointmentType
from flg import errors, sessions, transport
from tests.conftest import make_customer

SUPPORT = "help@acme.example"
LAYOUT = "Skip to main content"
START_URL = "/book/initial-consultation/"
BUSY = "Opening the booking screen…"


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
    yield sandbox
    # The FLG client keeps its connection to live_server alive between calls, and the server
    # thread at the other end keeps a database connection that outlives the test database
    # otherwise ("being accessed by other users" on PostgreSQL). Hang up.
    pooled = getattr(transport._local, "session", None)
    if pooled is not None:
        pooled.close()


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer.user)
    return client


@pytest.fixture
def unlinked_client(client, db):
    user = get_user_model().objects.create_user("sam", "sam@example.com", "pw-not-used")
    client.force_login(user)
    return client


@pytest.fixture
def one_rate_window():
    """Start at the top of a minute, so the per-minute session limit's window cannot roll over
    in the middle of a test."""
    top = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(top):
        yield


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def tags(page: str, name: str | None = None) -> list[dict[str, str | None]]:
    """The attributes of every start tag (of one name) in a page, in order."""
    parser = _Tags()
    parser.feed(page)
    return [attrs for tag, attrs in parser.found if name is None or tag == name]


def start(client, slug="initial-consultation", **data):
    return client.post(f"/book/{slug}/", data)


def session_url(response):
    assert response.status_code == 303, response.content[:500]
    return response["Location"]


def page_url(session: AppointmentSession) -> str:
    return f"/book/{session.appointment_type.slug}/session/{session.pk}/"


def newest_session() -> AppointmentSession:
    return AppointmentSession.objects.select_related("appointment_type").latest("created_at")


def seconds_remaining(page: str) -> int:
    found = re.search(r'data-seconds-remaining="(\d+)"', page)
    assert found, page
    return int(found.group(1))


def due_moment(settings) -> dt.datetime:
    """Just past the refresh margin of a session the sandbox created now."""
    ttl = settings.FLG_SANDBOX_SESSION_TTL
    return timezone.now() + dt.timedelta(seconds=ttl - settings.BOOKING_REFRESH_MARGIN + 1)


def logged_details(caplog) -> list[str]:
    """What the views logged for staff about FLG failures (the admin detail)."""
    return [
        r.getMessage().split(": ", 1)[1]
        for r in caplog.records
        if getattr(r, "event", None) == "flg_failure"
    ]


def assert_portal_error_page(response, caplog) -> str:
    page = response.content.decode()
    assert LAYOUT in page
    assert SUPPORT in page
    assert "Traceback" not in page
    assert "FLG said" not in page
    details = logged_details(caplog)
    assert details, "the failure was not logged for staff"
    for detail in details:
        assert detail not in page
    return page


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
    assert "noopener" in new_window["rel"].split()
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


def test_a_due_page_past_the_session_limit_is_a_429(
    flg_ready, signed_in, settings, one_rate_window
):
    settings.BOOKING_SESSIONS_PER_MINUTE = 1
    settings.FLG_SANDBOX_SESSION_TTL = 30  # born due, so the page must ask for another
    url = session_url(start(signed_in))
    response = signed_in.get(url)
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert flg_ready.calls() == 1


# --- Refresh --------------------------------------------------------------------------------


def test_refresh_answers_a_fresh_session_as_json(flg_ready, signed_in, settings):
    url = session_url(start(signed_in))
    with time_machine.travel(due_moment(settings)):
        response = signed_in.post(url + "refresh/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"id", "publicUrl", "closesAt", "secondsRemaining", "pageUrl"}
    fresh = AppointmentSession.objects.get(pk=body["id"])
    assert body["pageUrl"] == page_url(fresh) != url
    assert body["publicUrl"] == fresh.public_url
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


def test_refresh_past_the_session_limit_is_a_json_429(
    flg_ready, signed_in, settings, one_rate_window
):
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


def test_too_many_new_sessions_get_a_friendly_429(flg_ready, signed_in, one_rate_window):
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
