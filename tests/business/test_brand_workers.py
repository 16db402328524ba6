"""With the cache production uses (Redis), a save shows at once in the process that made it.

(Another process shows it within branding.BRAND_REMEMBERED_SECONDS: test_brand.py, and two
real gunicorn replicas in tests/portal/test_replicas.py.)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from tests.business.test_brand import SETTINGS_URL, form
from tests.portal.conftest import redis_cache, redis_server  # noqa: F401 (fixtures)


def page_in_another_worker(customer) -> str:
    """The home page as a thread with its own cache connection renders it (Django's caches
    are per thread): another of the saving process's threads, sharing Redis, the database
    and the process's remembered brand."""
    pages: list[str] = []

    def run() -> None:
        try:
            browser = Client()
            browser.force_login(customer.user)
            pages.append(browser.get("/").content.decode())
        finally:
            # A thread's own connection, or PostgreSQL could not drop the test database.
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return pages[0]


@pytest.mark.usefixtures("transactional_db", "redis_cache")
def test_a_save_shows_at_once_on_the_saving_process_s_other_threads(staff, customer):
    assert "Acme Bookings" in page_in_another_worker(customer)  # it now holds the old brand
    staff.post(SETTINGS_URL, form(portal_name="Harbour Dental"))
    page = page_in_another_worker(customer)
    assert "Harbour Dental" in page and "Acme Bookings" not in page
