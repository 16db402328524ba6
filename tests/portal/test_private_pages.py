"""No page a signed-in customer can reach may be kept by a browser's or a proxy's cache."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.models import AppointmentSession

# Not the portal's customer pages: Django's admin (staff only, never_cache on every view), the
# FLG stand-in, which plays another company's site, and the brand's stylesheet and logo: the
# same for everyone, at versioned URLs that caches keep on purpose (tests/business/).
NOT_CUSTOMER_PAGES = ("admin/", "sandbox/", "brand/")
POST_ONLY = {"session_start", "session_refresh", "logout"}


def customer_urls() -> list[tuple[str, str, list[str]]]:
    """(name, route, parameter names) for every URL of the URLconf but the excluded ones."""
    found = []

    def walk(patterns, prefix: str, converters: list[str]) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if route.startswith(NOT_CUSTOMER_PAGES):
                continue
            params = converters + list(entry.pattern.converters)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route, params)
            elif isinstance(entry, URLPattern):
                found.append((entry.name or route, route, params))

    walk(get_resolver().url_patterns, "", [])
    return found


def fill(route: str, values: dict[str, str]) -> str:
    path = "/" + route
    for name, value in values.items():
        for converter in ("slug", "uuid", "str", "int", "path"):
            path = path.replace(f"<{converter}:{name}>", value)
        path = path.replace(f"<{name}>", value)
    assert "<" not in path, f"add an example value for the parameters of {route}"
    return path


@pytest.fixture
def examples(sandbox, customer, type_for_all):
    sandbox.mirror()
    session = AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=type_for_all,
        lead_id=customer.lead_id,
        public_url=f"{sandbox.url}/sandbox/appointments/book/example",
        closes_at=timezone.now() + dt.timedelta(minutes=20),
    )
    return {
        "slug": type_for_all.slug,
        "session_id": str(session.id),
        "uidb64": urlsafe_base64_encode(force_bytes(customer.user.pk)),
        "token": default_token_generator.make_token(customer.user),
    }


def is_private(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def test_every_customer_url_is_private_and_not_stored(examples, customer):
    urls = customer_urls()
    assert {"home", "session_page", "password_change", "password_change_done"} <= {
        name for name, _, _ in urls
    }
    failures = {}
    for name, route, _ in urls:
        browser = Client(raise_request_exception=False)
        browser.force_login(customer.user)
        path = fill(route, examples)
        for method in ("get", "post") if name in POST_ONLY else ("get",):
            response = getattr(browser, method)(path)
            if not is_private(response):
                failures[f"{method.upper()} {path}"] = response.get("Cache-Control")
    assert not failures, failures


def test_the_not_linked_page_is_private_and_not_stored(db):
    user = get_user_model().objects.create_user("sam", "sam@example.com", "pw-not-used")
    browser = Client()
    browser.force_login(user)
    response = browser.get("/")
    assert response.status_code == 200
    assert is_private(response)
