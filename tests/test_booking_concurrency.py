"""Double clicks, several tabs and several workers make one FLG call and land on one session."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from appointments import services
from appointments.models import AppointmentSession

STARTS = 10


class Unshared(dict):
    """A lock table that never shares: as if every start ran in a process of its own."""

    def get(self, key, default=None):
        return default

    def __setitem__(self, key, value):
        pass


def simultaneous_starts(customer, appointment_type):
    barrier = threading.Barrier(STARTS)
    results, errors = [], []

    def one_start():
        try:
            barrier.wait(timeout=10)
            session = services.session_start(customer=customer, appointment_type=appointment_type)
            results.append(session.pk)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_start) for _ in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.postgres
def test_ten_simultaneous_starts_across_connections_make_one_flg_call(
    sandbox, customer, type_for_all, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL for row locks across connections: run with "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (make test does this)"
        )
    sandbox.mirror()
    # Each thread has its own connection, as separate workers would. Only the database's row
    # lock may serialise them, so every thread gets a lock of its own in this process.
    monkeypatch.setattr(services, "_locks", Unshared())
    results = simultaneous_starts(customer, type_for_all)
    assert len(results) == STARTS
    assert len(set(results)) == 1
    assert sandbox.calls() == 1
    assert AppointmentSession.objects.count() == 1


def test_ten_simultaneous_starts_in_one_process_make_one_flg_call(sandbox, customer, type_for_all):
    sandbox.mirror()
    results = simultaneous_starts(customer, type_for_all)
    assert len(results) == STARTS
    assert len(set(results)) == 1
    assert sandbox.calls() == 1
