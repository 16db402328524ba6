"""Pages of every kind in the portal's layout, with one way of saying things."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

LAYOUT = "Skip to main content"


@pytest.mark.parametrize(
    "url",
    [
        "/book/initial-consultation/session/00000000-0000-4000-8000-000000000000/refresh/",
        "/book/initial-consultation/session/00000000-0000-4000-8000-000000000000/booked/",
        "/accounts/logout/",
    ],
)
def test_a_method_a_page_does_not_take_gets_a_page_in_the_portals_layout(
    customer_client, type_for_all, url
):
    response = customer_client.get(url)
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    page = response.content.decode()
    assert LAYOUT in page
    assert "This page cannot be opened that way" in page
    assert "Nothing was changed." in page
    assert "Content-Security-Policy" in response.headers


def test_a_405_page_for_a_signed_out_visitor_too(client):
    response = client.get("/accounts/logout/")
    assert response.status_code == 405
    assert LAYOUT in response.content.decode()


def contact_us_count(page: str) -> int:
    return len(re.findall(r"contact us", re.sub(r"<[^>]+>", " ", page), flags=re.IGNORECASE))


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/no-such-page/"])
def test_no_page_says_contact_us_twice(client, customer, type_for_all, url):
    if url != "/accounts/login/":
        client.force_login(customer.user)
    page = client.get(url).content.decode()
    assert contact_us_count(page) <= 1
    assert "help@acme.example" in page


def test_the_empty_home_page_says_contact_us_once(customer_client):
    page = customer_client.get("/").content.decode()
    assert "There is nothing to book just now" in page
    assert contact_us_count(page) == 1


def test_pages_name_the_home_page_one_way(customer_client):
    for url in ["/no-such-page/", "/accounts/password_change/done/"]:
        page = customer_client.get(url).content.decode()
        assert "your appointments" not in page.lower()
        assert "appointment types" in page


def test_the_booking_error_page_says_contact_us_once(customer_client, type_for_all, settings):
    settings.FLG_BASE_URL = ""  # FLG not configured: the message itself asks to contact us
    response = customer_client.post("/book/initial-consultation/")
    page = response.content.decode()
    assert response.status_code == 503
    assert contact_us_count(page) == 1
    assert "help@acme.example" in page and "0161 496 0000" in page
