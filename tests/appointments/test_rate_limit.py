"""The per-customer limit on new booking sessions: a friendly 429, shared by every worker."""

from __future__ import annotations

import datetime as dt
import random
import socket
import textwrap

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from appointments import services
from appointments.models import AppointmentSession, Customer
from tests.processes import manage


@pytest.fixture
def booking(sandbox, customer, other_customer, type_for_all):
    sandbox.mirror()
    return sandbox


def signed_in(customer) -> Client:
    client = Client()
    client.force_login(customer.user)
    return client


def start_over(client: Client):
    # "Start over" always asks FLG for a new session, so each one counts against the limit.
    return client.post("/book/initial-consultation/", {"start_over": "1"})


def test_the_eleventh_new_session_within_a_minute_gets_a_friendly_429(booking, customer, settings):
    assert settings.BOOKING_SESSIONS_PER_MINUTE == 10
    client = signed_in(customer)
    assert [start_over(client).status_code for _ in range(10)] == [303] * 10

    response = start_over(client)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Please wait a moment" in text
    assert "Please wait a minute, then try again." in text
    assert "help@acme.example" in text and "Acme Bookings" in text  # the portal's layout
    assert 0 < int(response["Retry-After"]) <= 60
    assert booking.calls() == 10
    assert AppointmentSession.objects.count() == 10


def test_a_minute_later_the_customer_may_start_again(booking, customer, settings):
    settings.BOOKING_SESSIONS_PER_MINUTE = 2
    client = signed_in(customer)
    with time_machine.travel(timezone.now()) as clock:  # any second of the minute
        assert [start_over(client).status_code for _ in range(3)] == [303, 303, 429]
        clock.shift(dt.timedelta(seconds=61))
        assert start_over(client).status_code == 303


def test_the_turn_of_a_minute_opens_no_second_allowance(booking, customer, settings):
    settings.BOOKING_SESSIONS_PER_MINUTE = 2
    client = signed_in(customer)
    top = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(top - dt.timedelta(seconds=2), tick=False) as clock:
        assert [start_over(client).status_code for _ in range(2)] == [303, 303]
        clock.shift(dt.timedelta(seconds=3))  # a new minute on the clock, not a new allowance
        refused = start_over(client)
        assert refused.status_code == 429
        # The two starts were made in the ten seconds before the minute's turn; the minute
        # after that step's start ends 49 s from now.
        assert refused["Retry-After"] == "49"
        # Pressing again while refused counts for nothing: the wait does not move.
        clock.shift(dt.timedelta(seconds=20))
        again = start_over(client)
        assert (again.status_code, again["Retry-After"]) == (429, "29")
        clock.shift(dt.timedelta(seconds=28))
        assert start_over(client).status_code == 429
        clock.shift(dt.timedelta(seconds=1))  # when Retry-After said
        assert start_over(client).status_code == 303
    assert booking.calls() == 3


def test_the_limit_is_each_customers_own(booking, customer, other_customer, settings):
    settings.BOOKING_SESSIONS_PER_MINUTE = 2
    casey = signed_in(customer)
    assert [start_over(casey).status_code for _ in range(3)] == [303, 303, 429]
    assert start_over(signed_in(other_customer)).status_code == 303


def test_reusing_an_open_session_never_counts(booking, customer, settings):
    settings.BOOKING_SESSIONS_PER_MINUTE = 2
    client = signed_in(customer)
    statuses = [client.post("/book/initial-consultation/").status_code for _ in range(12)]
    assert statuses == [303] * 12
    assert booking.calls() == 1


# --- Shared through Redis -------------------------------------------------------------------

REDIS = ("127.0.0.1", 6379)
REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not redis_reachable(),
    reason="Redis is not reachable at 127.0.0.1:6379 (start it, or set CACHE_URL=redis://… "
    "in production); the limit is then only per process",
)

TAKE_SLOTS = """
import datetime as dt, time_machine
from appointments import services
from appointments.models import Customer
with time_machine.travel(dt.datetime.fromisoformat("{at}"), tick=False):
    for _ in range({n}):
        services._take_rate_slot(Customer(pk={pk}))
print("took {n}")
"""


@pytest.mark.subprocess
@needs_redis
def test_two_workers_count_one_customer_together_through_redis(settings):
    # A customer id no other run uses: the keys expire by themselves, and nothing is flushed,
    # since other test runs may share this Redis.
    customer = Customer(pk=random.randrange(10**9, 10**10))
    at = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    redis_cache["default"]["LOCATION"] = REDIS_URL
    with override_settings(CACHES=redis_cache), time_machine.travel(at, tick=False):
        for _ in range(5):
            services._take_rate_slot(customer)
        # Another worker: its own process and connection, the same Redis.
        code = textwrap.dedent(TAKE_SLOTS.format(at=at.isoformat(), n=5, pk=customer.pk))
        other = manage(
            "shell",
            "-c",
            code,
            DEBUG="1",
            CACHE_URL=REDIS_URL,
            BOOKING_SESSIONS_PER_MINUTE=str(settings.BOOKING_SESSIONS_PER_MINUTE),
        )
        assert other.returncode == 0, other.stderr
        assert other.stdout.splitlines()[-1] == "took 5"
        # Five here and five there make ten: the eleventh is refused, wherever it comes from.
        with pytest.raises(services.SessionLimitReached):
            services._take_rate_slot(customer)


def test_a_cache_outage_does_not_stop_bookings(customer):
    unreachable = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    unreachable["default"]["LOCATION"] = "redis://127.0.0.1:1/0"
    with override_settings(CACHES=unreachable):
        for _ in range(15):
            services._take_rate_slot(customer)
