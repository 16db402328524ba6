"""Double clicks, several tabs and several workers make one FLG call and land on one session."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from appointments import services
from appointments.models import AppointmentSession

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
    monkeypatch.setattr(services, "_locks", Unshared())
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
