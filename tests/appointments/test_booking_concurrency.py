"""Double clicks, several tabs and several workers make one FLG call and land on one session."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from appointments import failures, locks
from appointments.models import AppointmentSession, FlgFailure
from flg import breaker

STARTS = 10


class Unshared(dict):
    """A lock table that never shares: as if every start ran in a process of its own."""

    def get(self, key, default=None):
        return default

    def __setitem__(self, key, value):
        pass


def simultaneous_starts(customer) -> list[str]:
    """POST the same start from STARTS threads at once; the pages they were sent to."""
    clients = []
    for _ in range(STARTS):
        client = Client()
        client.force_login(customer.user)
        clients.append(client)
    barrier = threading.Barrier(STARTS)
    locations: list[str] = []
    errors: list[BaseException] = []

    def one_start(client: Client) -> None:
        # Each thread has a database connection of its own, as a separate worker would.
        try:
            barrier.wait(timeout=10)
            response = client.post("/book/initial-consultation/")
            assert response.status_code == 303, response.content[:300]
            locations.append(response["Location"])
        except BaseException as exc:  # collected and asserted in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_start, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a start never finished"
    assert errors == []
    return locations


@pytest.mark.postgres
def test_ten_simultaneous_starts_across_connections_make_one_flg_call(
    transactional_db, sandbox, customer, type_for_all, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test "
            "(make test does this)"
        )
    sandbox.mirror()
    # Only the database's row lock may serialise the starts, as across workers: every thread
    # gets a lock of its own in this process.
    monkeypatch.setattr(locks, "_locks", Unshared())
    locations = simultaneous_starts(customer)
    session = AppointmentSession.objects.get()
    assert locations == [f"/book/initial-consultation/session/{session.pk}/"] * STARTS
    assert sandbox.calls() == 1


def test_ten_simultaneous_starts_in_one_process_make_one_flg_call(
    transactional_db, sandbox, customer, type_for_all
):
    sandbox.mirror()
    locations = simultaneous_starts(customer)
    session = AppointmentSession.objects.get()
    assert locations == [f"/book/initial-consultation/session/{session.pk}/"] * STARTS
    assert sandbox.calls() == 1


# --- One customer, one wait: presses queued behind a start that FLG left hanging -----------


@pytest.fixture
def flg_hanging(sandbox, settings):
    sandbox.mirror()
    settings.FLG_TIMEOUT = 1
    sandbox.fault("hang", hang_seconds=4)
    yield sandbox
    breaker.reset()


def presses_while_flg_hangs(customer) -> tuple[list[int], list[str], float]:
    """STARTS presses of Book by one customer at once: their statuses, pages and the time the
    last one took to be answered."""
    statuses: list[int] = []
    pages: list[str] = []
    barrier = threading.Barrier(STARTS)
    clients = []
    for _ in range(STARTS):  # signed in beforehand: SQLite takes one writer at a time
        client = Client()
        client.force_login(customer.user)
        clients.append(client)

    def press(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post("/book/initial-consultation/")
            statuses.append(response.status_code)
            pages.append(response.content.decode())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press, args=(c,)) for c in clients]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses, pages, time.monotonic() - started


def assert_answered_together(statuses: list[int], pages: list[str], took: float, sandbox) -> None:
    assert statuses == [503] * STARTS
    assert all(failures.MESSAGES["unavailable"] in page for page in pages)
    # One call to FLG, whose failure answers every press: not one timeout after another.
    assert sandbox.calls() == 1
    assert took < STARTS  # one after another would take STARTS x FLG_TIMEOUT (1 s) and more
    assert FlgFailure.objects.count() == 1


def test_one_customers_presses_while_flg_hangs_share_one_call_and_its_answer(
    transactional_db, flg_hanging, customer, type_for_all
):
    assert_answered_together(*presses_while_flg_hangs(customer), flg_hanging)


@pytest.mark.postgres
def test_one_customers_presses_across_connections_share_one_call_while_flg_hangs(
    transactional_db, flg_hanging, customer, type_for_all, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the row lock is what the presses queue on")
    # As across workers: only the row lock serialises them.
    monkeypatch.setattr(locks, "_locks", Unshared())
    assert_answered_together(*presses_while_flg_hangs(customer), flg_hanging)
