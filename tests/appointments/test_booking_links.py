"""Personal booking links: signed in on a type's Book page, then FLG's screen, in two clicks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import booking_links
from appointments.models import AppointmentSession, Customer
from tests.conftest import PASSWORD, make_customer

BASE = "http://testserver"
SPENT = "This booking link no longer works"
SESSION_PAGE = re.compile(r"^/book/initial-consultation/session/[0-9a-f-]{36}/$")
CUSTOMERS = "admin:appointments_customer_changelist"


@pytest.fixture
def flg_ready(sandbox, customer, other_customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    return sandbox


def link_for(customer, appointment_type, **kwargs) -> str:
    made = booking_links.booking_link_create(
        customer=customer, appointment_type=appointment_type, base_url=BASE, **kwargs
    )
    return made.url.removeprefix(BASE)


def open_link(client, link):
    """Open the link as a browser does: its token moves to the session, then the Book page."""
    opened = client.get(link)
    assert opened.status_code == 302
    assert opened["Location"] == re.sub(r"/link/.*", "/link/", link)
    assert opened["Referrer-Policy"] == "no-referrer"
    return client.get(opened["Location"])


def press_book(client, link):
    """Open the link, then press Book on its page, as a person does."""
    page = open_link(client, link)
    assert page.status_code == 200, page.content[:300]
    action = re.search(r'action="(/book/[a-z-]+/link/)"', page.content.decode())[1]
    return client.post(action)


def signed_in_as(client) -> str | None:
    page = client.get("/")
    return page.context["user"].email if page.status_code == 200 else None


# --- The link ---------------------------------------------------------------------------------


def test_opening_a_link_shows_the_book_page_and_changes_nothing(flg_ready, customer, type_for_all):
    link = link_for(customer, type_for_all)
    scanner = Client()
    page = open_link(scanner, link)
    assert page.status_code == 200
    html = page.content.decode()
    assert link.rstrip("/").rsplit("/", 1)[1] not in html
    assert '<h1 id="type-name">Initial consultation</h1>' in html
    assert "You are booking as <strong>c\u2022\u2022\u2022@example.com</strong>" in html
    assert 'Book<span class="visually-hidden"> Initial consultation' in html
    # The token left the address before anything rendered, so no Referer can carry it; and
    # a form posted from the page still carries an Origin, which Django's CSRF check needs
    # (no-referrer would send "null").
    assert page["Referrer-Policy"] == "same-origin"
    open_link(scanner, link)
    assert signed_in_as(scanner) is None
    assert flg_ready.calls() == 0
    assert not AppointmentSession.objects.exists()


def test_pressing_book_signs_in_and_opens_the_booking_screen(flg_ready, customer, type_for_all):
    person = Client()
    response = press_book(person, link_for(customer, type_for_all))
    assert response.status_code == 303
    assert SESSION_PAGE.match(response["Location"])
    page = person.get(response["Location"])
    assert page.status_code == 200
    assert 'id="booking-frame"' in page.content.decode()
    assert flg_ready.calls() == 1
    assert AppointmentSession.objects.get().customer == customer


def test_a_link_works_again_within_its_days(flg_ready, customer, type_for_all, settings):
    settings.BOOKING_LINK_DAYS = 14
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        link = link_for(customer, type_for_all)
    with time_machine.travel(start + dt.timedelta(days=1)):
        assert press_book(Client(), link).status_code == 303
    with time_machine.travel(start + dt.timedelta(days=13, hours=23)):
        assert press_book(Client(), link).status_code == 303
    assert flg_ready.calls() == 2


def test_a_link_stops_working_after_its_days(customer, type_for_all, settings):
    settings.BOOKING_LINK_DAYS = 14
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        link = link_for(customer, type_for_all)
    with time_machine.travel(start + dt.timedelta(days=14, seconds=1), tick=False):
        page = open_link(Client(), link)
    assert page.status_code == 410
    html = page.content.decode()
    assert SPENT in html
    assert 'href="/accounts/login/link/?next=/book/initial-consultation/"' in html


def test_a_link_lasts_the_days_staff_chose(customer, type_for_all):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        link = link_for(customer, type_for_all, days=3)
    with time_machine.travel(start + dt.timedelta(days=2, hours=23), tick=False):
        assert open_link(Client(), link).status_code == 200
    with time_machine.travel(start + dt.timedelta(days=3, seconds=1), tick=False):
        assert open_link(Client(), link).status_code == 410


def test_a_signed_in_customer_with_their_expired_link_goes_on_to_the_book_page(
    customer, type_for_all
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        link = link_for(customer, type_for_all, days=3)
    client = Client()
    with time_machine.travel(start + dt.timedelta(days=3, seconds=1), tick=False):
        client.force_login(customer.user)
        page = open_link(client, link)
        assert page.status_code == 302
        assert page["Location"] == "/book/initial-consultation/"
        book = client.get(page["Location"]).content.decode()
    assert "You are already signed in as casey@example.com" in book
    assert SPENT not in book


def test_a_signed_in_customer_whose_dead_link_is_for_a_type_they_may_not_book_goes_home(
    customer, type_for_homeowners, landlords
):
    link = link_for(customer, type_for_homeowners)
    customer.lead_group = landlords
    customer.save()
    client = Client()
    client.force_login(customer.user)
    page = open_link(client, link)
    assert page.status_code == 302 and page["Location"] == "/"
    assert "You are already signed in" in client.get("/").content.decode()


def test_another_customer_opening_a_dead_link_stays_themselves_and_is_told(
    customer, other_customer, type_for_all
):
    link = link_for(customer, type_for_all)
    booking_links.booking_links_revoke(customers=Customer.objects.filter(pk=customer.pk))
    client = Client()
    client.force_login(other_customer.user)
    page = open_link(client, link)
    assert page.status_code == 302 and page["Location"] == "/"
    home = client.get("/").content.decode()
    assert "That link was for another account and no longer works" in home
    assert signed_in_as(client) == "lee@example.com"


def test_a_link_for_one_type_does_not_open_another(customer, type_for_all, type_for_homeowners):
    link = link_for(customer, type_for_all)
    moved = link.replace("/book/initial-consultation/", "/book/home-survey/")
    assert open_link(Client(), moved).status_code == 410
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = Client().post("/book/home-survey/link/", {"token": token})
    assert forged.status_code == 410
    assert signed_in_as(Client()) is None


def test_a_link_for_a_type_the_customer_may_no_longer_book_shows_the_friendly_page(
    customer, type_for_homeowners, landlords
):
    link = link_for(customer, type_for_homeowners)
    customer.lead_group = landlords
    customer.save()
    assert open_link(Client(), link).status_code == 410
    type_for_homeowners.is_active = False
    type_for_homeowners.save()
    page = open_link(Client(), link)
    assert page.status_code == 410 and SPENT in page.content.decode()


def test_an_altered_link_shows_the_friendly_page(customer, type_for_all):
    link = link_for(customer, type_for_all)
    for bad in [
        link[:-3] + "x/",
        link.replace("/link/", "/link/0"),
        "/book/initial-consultation/link/x/",
    ]:
        page = open_link(Client(), bad)
        assert page.status_code == 410
        assert SPENT in page.content.decode()


def test_staff_accounts_are_never_signed_in_by_a_link(customer, type_for_all):
    customer.user.is_staff = True
    customer.user.save()
    assert open_link(Client(), link_for(customer, type_for_all)).status_code == 410


# --- Revocation -------------------------------------------------------------------------------


def test_revoking_stops_every_link_of_the_customer_and_new_ones_work(
    staff, customer, other_customer, type_for_all, type_for_homeowners
):
    old = [link_for(customer, type_for_all), link_for(customer, type_for_homeowners)]
    others = link_for(other_customer, type_for_all)
    response = staff.post(
        reverse(CUSTOMERS),
        {"action": "revoke_booking_links", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert "Booking links revoked for 1 customer(s)" in response.content.decode()
    for link in old:
        assert open_link(Client(), link).status_code == 410
    assert open_link(Client(), others).status_code == 200
    customer.refresh_from_db()
    assert open_link(Client(), link_for(customer, type_for_all)).status_code == 200


def test_changing_the_email_stops_the_links(customer, type_for_all):
    link = link_for(customer, type_for_all)
    customer.user.email = "casey.new@example.com"
    customer.user.save()
    assert open_link(Client(), link).status_code == 410


# --- What a booking-link session may do -------------------------------------------------------


def test_a_booking_link_session_cannot_change_the_password(flg_ready, customer, type_for_all):
    person = Client()
    press_book(person, link_for(customer, type_for_all))
    response = person.get("/accounts/password_change/", follow=True)
    assert response.redirect_chain[0] == (
        "/accounts/login/?next=/accounts/password_change/",
        302,
    )
    page = response.content.decode()
    assert "please sign in with your password or a sign-in link before changing" in page
    assert 'name="password"' in page
    posted = person.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "x-new-9-phrase", "new_password2": "x"},
    )
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    customer.user.refresh_from_db()
    assert customer.user.check_password(PASSWORD)
    # Signing in properly lifts the limit.
    signed = person.post(
        "/accounts/login/?next=/accounts/password_change/",
        {"username": "casey@example.com", "password": PASSWORD},
    )
    assert signed["Location"] == "/accounts/password_change/"
    assert person.get("/accounts/password_change/").status_code == 200


def test_a_customer_already_signed_in_keeps_their_full_session(flg_ready, customer, type_for_all):
    person = Client()
    person.post("/accounts/login/", {"username": "casey@example.com", "password": PASSWORD})
    assert press_book(person, link_for(customer, type_for_all)).status_code == 303
    assert person.get("/accounts/password_change/").status_code == 200


def test_a_link_of_another_customer_switches_the_browser_to_them(
    flg_ready, customer, other_customer, type_for_all
):
    person = Client()
    person.force_login(customer.user)
    press_book(person, link_for(other_customer, type_for_all))
    assert signed_in_as(person) == "lee@example.com"
    assert person.get("/accounts/password_change/").status_code == 302


# --- The Book page by GET ---------------------------------------------------------------------


def test_the_book_page_answers_get_for_a_type_the_customer_may_book(
    customer_client, type_for_all, type_for_landlords
):
    page = customer_client.get("/book/initial-consultation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<form method="post" action="/book/initial-consultation/" data-busy=' in html
    assert customer_client.get("/book/portfolio-review/").status_code == 404
    assert customer_client.get("/book/no-such-type/").status_code == 404


# --- Where staff get them ---------------------------------------------------------------------


def test_the_customer_page_lists_a_copyable_link_per_bookable_type(
    staff, customer, type_for_all, type_for_homeowners, type_for_landlords, settings
):
    settings.PORTAL_URL = "https://book.example.com"
    page = staff.get(reverse("admin:appointments_customer_change", args=[customer.pk]))
    html = page.content.decode()
    found = re.findall(
        r'<input id="booking-link-\d+" type="text" readonly size="60" '
        r'value="https://book\.example\.com(/book/([a-z-]+)/link/[^"]+/)">',
        html,
    )
    assert [slug for _link, slug in found] == ["initial-consultation", "home-survey"]
    assert open_link(Client(), found[1][0]).status_code == 200


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_staff_export_a_csv_of_links_from_the_customer_list(
    staff, customer, other_customer, type_for_homeowners, settings
):
    settings.PORTAL_URL = "https://book.example.com"
    chosen = {"_selected_action": [customer.pk, other_customer.pk]}
    form = staff.post(reverse(CUSTOMERS), {"action": "export_booking_links", **chosen})
    assert "Download the CSV" in form.content.decode()
    response = staff.post(
        reverse(CUSTOMERS),
        {
            "action": "export_booking_links",
            "confirm": "1",
            "appointment_type": type_for_homeowners.pk,
            "days": "7",
            **chosen,
        },
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="booking-links-home-survey.csv"' in response["Content-Disposition"]
    # Lee is a landlord: a home survey is not theirs to book, so they are left out.
    [row] = read_csv(response.content.decode())
    assert row["email"] == "casey@example.com"
    assert row["first_name"] == "Casey"
    assert row["lead_id"] == "108123759"
    assert row["type"] == "Home survey"
    assert row["link"].startswith("https://book.example.com/book/home-survey/link/")
    expires = dt.datetime.fromisoformat(row["expires"])
    assert abs(expires - (timezone.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    link = row["link"].removeprefix("https://book.example.com")
    assert open_link(Client(), link).status_code == 200


def test_the_command_writes_a_csv_for_a_mail_merge(
    customer, other_customer, type_for_all, homeowners, settings, tmp_path
):
    settings.PORTAL_URL = "https://book.example.com"
    settings.BOOKING_LINK_DAYS = 14
    err = io.StringIO()
    out = io.StringIO()
    call_command("booking_links", "--type", "initial-consultation", stdout=out, stderr=err)
    rows = read_csv(out.getvalue())
    assert list(rows[0]) == [
        "email",
        "first_name",
        "last_name",
        "lead_id",
        "type",
        "link",
        "expires",
    ]
    assert [r["email"] for r in rows] == ["casey@example.com", "lee@example.com"]
    assert "2 booking link(s) for Initial consultation." in err.getvalue()
    expires = dt.datetime.fromisoformat(rows[0]["expires"])
    assert abs(expires - (timezone.now() + dt.timedelta(days=14))) < dt.timedelta(minutes=1)

    target = tmp_path / "links.csv"
    call_command(
        "booking_links",
        "--type=initial-consultation",
        "--days=3",
        f"--lead-group={homeowners.flg_id}",
        f"--output={target}",
        stderr=io.StringIO(),
    )
    [row] = read_csv(target.read_text(encoding="utf-8"))
    assert row["email"] == "casey@example.com"
    expires = dt.datetime.fromisoformat(row["expires"])
    assert abs(expires - (timezone.now() + dt.timedelta(days=3))) < dt.timedelta(minutes=1)
    assert (
        open_link(Client(), row["link"].removeprefix("https://book.example.com")).status_code == 200
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--type", "nope"], "No appointment type has the slug 'nope'"),
        (["--type", "winter-check"], "is not active"),
        (["--type", "initial-consultation", "--days", "0"], "--days must be from 1 to 365"),
        (["--type", "initial-consultation", "--lead-group", "999"], "No lead group has the FLG id"),
    ],
)
def test_the_command_refuses_what_would_not_work(
    customer, type_for_all, inactive_type, args, words
):
    with pytest.raises(CommandError, match=re.escape(words)):
        call_command("booking_links", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_a_formula_in_a_name_is_not_run_by_a_spreadsheet(db, type_for_all):
    make_customer("eve@example.com", "555", None)
    user = get_user_model().objects.get(email="eve@example.com")
    user.first_name = '=HYPERLINK("https://evil.example")'
    user.save()
    out = io.StringIO()
    call_command(
        "booking_links", "--type", "initial-consultation", stdout=out, stderr=io.StringIO()
    )
    [row] = read_csv(out.getvalue())
    assert row["first_name"] == '\'=HYPERLINK("https://evil.example")'
