"""No request outlives the test that made it (LiveServerDoor, tests/conftest.py).

A page still loading as its test ends, such as a frame or a refresh, once failed CI: on SQLite
the live server shares the test's database connection, the database was flushed under the
request, and the next test began on the last one's rows. These two tests run in this order,
in one process (`--dist loadfile`): the first ends with a booking half-started, the second
finds it answered as it would have been had the test gone on, and nothing left behind: no row,
and no server thread waiting on a connection the first kept alive.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.test import Client

from appointments.models import AppointmentSession
from tests.helpers import csrf_token

FLG_LATENCY_MS = 700

# What the first test leaves running, for the second to look at.
left_running: dict[str, object] = {}


def start_booking_in_the_background(live_server, customer) -> threading.Thread:
    client = Client()
    client.force_login(customer.user)
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value)
    token = csrf_token(browser, live_server.url + "/book/initial-consultation/")

    def press_book():
        with browser:
            left_running["answer"] = browser.post(
                live_server.url + "/book/initial-consultation/",
                data={"csrfmiddlewaretoken": token},
                headers={"Referer": live_server.url + "/"},
                allow_redirects=False,
                timeout=10,
            )

    thread = threading.Thread(target=press_book, daemon=True)
    thread.start()
    return thread


def test_a_test_ends_while_a_booking_waits_on_flg(live_server, sandbox, customer, type_for_all):
    sandbox.mirror()
    sandbox.fault("none", latency_ms=FLG_LATENCY_MS)
    thread = start_booking_in_the_background(live_server, customer)
    deadline = time.monotonic() + 5
    while sandbox.calls() == 0:  # the portal has called FLG, and waits on its answer
        assert time.monotonic() < deadline, "the booking never reached the sandbox"
        time.sleep(0.01)
    left_running["thread"] = thread
    # The test ends here, with the portal's request still waiting on FLG.


def test_the_next_test_finds_it_answered_and_nothing_left_behind(live_server, sandbox):
    thread = left_running.get("thread")
    if thread is None:
        pytest.skip("runs after test_a_test_ends_while_a_booking_waits_on_flg, in one process")
    thread.join(timeout=5)  # the answer was sent before this test began; it is being read
    answer = left_running["answer"]
    assert answer.status_code == 303, answer.text[:500]
    assert "/session/" in answer.headers["Location"]
    # The sandbox fixture made its keys afresh (the flush had emptied the table), and the
    # booking the first test started was written before the flush, not after.
    assert AppointmentSession.objects.count() == 0
    # The connections the first test's requests left open (the press's, and the portal's own
    # to the sandbox) were hung up when it ended: no server thread waits on them.
    deadline = time.monotonic() + 5
    while serving() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serving() == []


def serving() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith("(process_request_thread)")]
