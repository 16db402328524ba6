"""Helpers for the booking pages' tests: read a page's tags, start a session, find the
session a page shows, and check a failure page says what a customer needs."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

from django.utils import timezone

from appointments.models import AppointmentSession

SUPPORT = "help@acme.example"
LAYOUT = "Skip to main content"
START_URL = "/book/initial-consultation/"
BUSY = "Opening the booking screen…"


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
