"""The per-customer lock a start holds: one FLG call per customer at a time, in any process.

Within a process, a lock per customer. Across processes, a key in the shared cache (Redis)
when there is one, so that a start waiting on FLG holds no database connection (it gives its
connection back to the pool meanwhile: `connection_release`); without a shared cache, the
customer's row lock on PostgreSQL, held across the call. SQLite runs in one process.
"""

from __future__ import annotations

import secrets
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from appointments.models import Customer

_locks: weakref.WeakValueDictionary[int, threading.Lock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()

# A start that took longer than this to hold the customer's locks queued behind another start.
QUEUED_AFTER = 0.05
# How often a start queued on another process's start looks whether it has finished.
POLL = 0.02
# A holder that died keeps the key no longer than its FLG call could have lasted, and this.
KEY_MARGIN = 5
KEY = "start-lock:{customer_id}"


def _cache_is_shared() -> bool:
    # As bookingportal.wiring.cache_is_shared decides it (an app does not import the frame).
    return "redis" in str(settings.CACHES["default"].get("BACKEND", "")).lower()


def _process_lock(customer_id: int) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(customer_id)
        if lock is None:
            lock = threading.Lock()
            _locks[customer_id] = lock
        return lock


@contextmanager
def _cache_lock(customer_id: int) -> Iterator[bool]:
    """The customer's key in the shared cache; yields whether another process held it first.

    Redis out of reach: the cache falls back to this process's memory, so the lock does too.
    """
    key, token = KEY.format(customer_id=customer_id), secrets.token_hex(8)
    ttl = settings.FLG_TIMEOUT + KEY_MARGIN
    deadline = time.monotonic() + ttl
    queued = False
    while not cache.add(key, token, ttl):
        if not queued:
            queued = True
            connection_release()  # a start waiting its turn holds no connection either
        if time.monotonic() > deadline:  # its holder died: take it over
            cache.set(key, token, ttl)
            break
        time.sleep(POLL)
    try:
        yield queued
    finally:
        # Ours still: it outlives the FLG call it guards by KEY_MARGIN seconds.
        cache.delete(key)


@contextmanager
def customer_lock(customer_id: int) -> Iterator[bool]:
    """Serialise one customer's starts in every process; yields whether this start queued
    behind another (whose outcome it may then share).

    On SQLite no transaction is held across the FLG call: a reader holding its snapshot while
    FLG (the sandbox, in development) writes to the same file would deadlock.
    """
    lock = _process_lock(customer_id)
    began = time.monotonic()
    queued = not lock.acquire(blocking=False)
    if queued:
        if _cache_is_shared():
            # Waiting behind the customer's other start (up to its whole FLG call) with a
            # connection held would let a double click drain the worker's small pool.
            connection_release()
        lock.acquire()
    try:
        if _cache_is_shared():
            with _cache_lock(customer_id) as queued_elsewhere:
                yield queued or queued_elsewhere
        elif connection.features.has_select_for_update:
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


def connection_release() -> None:
    """Give this thread's database connection back to the pool before waiting on FLG, so that
    starts waiting on FLG hold none; nothing inside a transaction (the row lock) or without a
    pool (SQLite)."""
    if not connection.in_atomic_block and getattr(connection, "pool", None) is not None:
        connection.close()
