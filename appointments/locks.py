"""The per-customer lock a start holds: one FLG call per customer at a time, in any process."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from appointments.models import Customer

_locks: weakref.WeakValueDictionary[int, threading.Lock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


# A start that took longer than this to hold the customer's locks queued behind another start.
QUEUED_AFTER = 0.05


@contextmanager
def customer_lock(customer_id: int) -> Iterator[bool]:
    """Serialise one customer's starts: across workers where the database has row locks
    (PostgreSQL), and within this process always (SQLite has no row locks). Yields whether
    this start queued behind another.

    On SQLite no transaction is held across the FLG call: a reader holding its snapshot while
    FLG (the sandbox, in development) writes to the same file would deadlock.
    """
    with _locks_guard:
        lock = _locks.get(customer_id)
        if lock is None:
            lock = threading.Lock()
            _locks[customer_id] = lock
    began = time.monotonic()
    queued = not lock.acquire(blocking=False)
    if queued:
        lock.acquire()
    try:
        if connection.features.has_select_for_update:
            with transaction.atomic():
                # The customer's row alone: no ordering, so no join that would lock the user too.
                list(
                    Customer.objects.select_for_update()
                    .filter(pk=customer_id)
                    .order_by()
                    .values_list("pk", flat=True)
                )
                yield queued or time.monotonic() - began > QUEUED_AFTER
        else:
            yield queued
    finally:
        lock.release()
