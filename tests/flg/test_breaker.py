"""A dead FLG must not tie up threads: the breaker's half-open probe, the failures it counts
while calls still hang, the per-process cap on calls waiting on FLG, and a cache outage.

Every call goes to the sandbox over real HTTP; its fault injection makes FLG fail or hang, and
its own count of requests shows what reached FLG."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from django.utils import timezone

from appointments import failures
from flg import breaker, errors, sessions, transport
from flg_sandbox import models as sandbox_models

LEAD = "108123759"
TYPE = uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1")
FAST = 0.5  # seconds: what "at once" means here, far below any FLG timeout


@pytest.fixture
def flg(sandbox, settings):
    sandbox_models.Lead.objects.create(lead_id=LEAD, lead_group_id=101)
    sandbox_models.AppointmentType.objects.create(id=TYPE, name="Initial consultation")
    settings.FLG_TIMEOUT = 2
    yield sandbox
    breaker.reset()


def create() -> sessions.FlgSession:
    return sessions.create(lead=LEAD, appointment_type=TYPE)


def fail_times(count: int) -> None:
    for _ in range(count):
        with pytest.raises(errors.FlgUnavailable):
            create()


def refused_at_once(match: str) -> errors.FlgUnavailable:
    started = time.monotonic()
    with pytest.raises(errors.FlgUnavailable, match=match) as raised:
        create()
    assert time.monotonic() - started < FAST
    return raised.value


def wait_until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class Caller(threading.Thread):
    """A start in another thread, as a second customer's request would be."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            create()
        except Exception as exc:
            self.error = exc


def calling() -> Caller:
    caller = Caller()
    caller.start()
    return caller


@pytest.fixture
def opened(flg, time_machine):
    """FLG failed THRESHOLD times, so the breaker is open; the clock then passes the cooldown."""
    time_machine.move_to(timezone.now(), tick=True)
    flg.fault("500")
    fail_times(breaker.THRESHOLD)
    assert breaker.is_open()
    time_machine.shift(dt.timedelta(seconds=breaker.COOLDOWN + 1))
    return flg


# --- Half-open: one probe at a time ----------------------------------------------------------


def test_after_the_cooldown_one_probe_reaches_flg_while_the_others_fail_fast(opened):
    opened.fault("hang", hang_seconds=4)
    probe = calling()
    wait_until(lambda: opened.calls() == breaker.THRESHOLD + 1)

    for _ in range(5):
        refused_at_once("half-open")

    probe.join(timeout=10)
    assert isinstance(probe.error, errors.FlgUnavailable)
    assert "did not answer" in str(probe.error)
    assert opened.calls() == breaker.THRESHOLD + 1


def test_a_probe_that_succeeds_closes_the_breaker(opened):
    opened.fault("none")
    assert create().lead == LEAD
    assert not breaker.is_open()
    for _ in range(3):
        assert create().lead == LEAD
    assert opened.calls() == breaker.THRESHOLD + 4


def test_a_refusal_from_flg_also_closes_it_since_flg_answered(opened, settings):
    opened.fault("none")
    settings.FLG_API_KEY = "not-a-key"
    with pytest.raises(errors.FlgKeyInvalid):
        create()
    settings.FLG_API_KEY = opened.GOOD_KEY
    assert create().lead == LEAD


def test_a_probe_that_fails_opens_the_breaker_for_another_cooldown(opened, time_machine):
    with pytest.raises(errors.FlgUnavailable, match="unavailable"):
        create()
    assert breaker.is_open()
    refused_at_once("circuit breaker is open")
    assert opened.calls() == breaker.THRESHOLD + 1

    time_machine.shift(dt.timedelta(seconds=breaker.COOLDOWN - 5))
    refused_at_once("circuit breaker is open")
    time_machine.shift(dt.timedelta(seconds=6))
    opened.fault("none")
    assert create().lead == LEAD
    assert opened.calls() == breaker.THRESHOLD + 2


def test_a_probe_that_hangs_opens_it_again_once_it_times_out(opened):
    opened.fault("hang", hang_seconds=4)
    started = time.monotonic()
    with pytest.raises(errors.FlgUnavailable, match="did not answer"):
        create()
    assert time.monotonic() - started < 2 + 0.75
    assert breaker.is_open()
    refused_at_once("circuit breaker is open")


def test_a_call_that_saw_it_half_open_as_a_probe_failed_cannot_become_a_second_probe(
    time_machine, monkeypatch
):
    # The bench caught this interleaving: a start read "half-open" just before the probe
    # failed and re-opened the breaker, then took the probe's place once it was given back.
    time_machine.move_to(timezone.now(), tick=True)
    for _ in range(breaker.THRESHOLD):
        breaker.settle(breaker.admit(), answered=False)
    time_machine.shift(dt.timedelta(seconds=breaker.COOLDOWN + 1))
    keys = [breaker.FAILURES_KEY, breaker.OPEN_KEY, breaker.IN_FLIGHT_KEY]
    seen_before = breaker._get_many(keys)
    probe = breaker.admit()
    assert probe.probe
    breaker.settle(probe, answered=False)

    monkeypatch.setattr(breaker, "_get_many", lambda keys: seen_before)
    with pytest.raises(errors.FlgUnavailable, match="half-open"):
        breaker.admit()


# --- The first wave: calls still waiting on a failing FLG count -----------------------------


def test_once_flg_fails_calls_still_waiting_on_it_hold_back_new_ones(flg, monkeypatch):
    monkeypatch.setattr(breaker, "THRESHOLD", 3)
    flg.fault("hang", hang_seconds=4)
    first = calling()
    wait_until(lambda: flg.calls() == 1)
    time.sleep(0.6)  # so that the first call times out well before the others
    others = [calling()]
    wait_until(lambda: flg.calls() == 2)
    others.append(calling())
    wait_until(lambda: flg.calls() == 3)

    first.join(timeout=10)
    assert isinstance(first.error, errors.FlgUnavailable)
    assert not breaker.is_open()
    # One failure and two calls still hanging make the threshold: no new call joins them.
    refused_at_once("2 calls still waiting")
    assert flg.calls() == 3

    for caller in others:
        caller.join(timeout=10)
    assert breaker.is_open()
    assert flg.calls() == 3


def test_while_flg_has_not_failed_any_number_of_calls_may_wait_on_it():
    # A burst on a healthy FLG is not held back: only failures make waiting calls suspect.
    admitted = [breaker.admit() for _ in range(breaker.THRESHOLD * 3)]
    assert not any(a.probe for a in admitted)
    for admission in admitted:
        breaker.settle(admission, answered=True)
    assert not breaker.is_open()


# --- The per-process cap on calls waiting on FLG --------------------------------------------


def test_a_call_beyond_the_cap_waits_for_a_place_instead_of_being_refused(flg, settings):
    # FLG is healthy but slow: the second call waits its turn and is made.
    settings.FLG_MAX_CONCURRENT_CALLS = 1
    flg.fault("none", latency_ms=800)
    first = calling()
    time.sleep(0.3)  # the first call holds the one place, waiting on FLG

    assert create().lead == LEAD
    first.join(timeout=10)
    assert first.error is None
    assert flg.calls() == 2


def test_a_call_that_waited_its_time_for_a_place_is_refused_as_busy(flg, settings, monkeypatch):
    settings.FLG_MAX_CONCURRENT_CALLS = 1
    monkeypatch.setattr(transport, "SLOT_WAIT", 0.3)
    flg.fault("hang", hang_seconds=3)
    waiting = calling()
    wait_until(lambda: flg.calls() == 1)

    started = time.monotonic()
    with pytest.raises(errors.FlgBusy, match="FLG_MAX_CONCURRENT_CALLS") as raised:
        create()
    assert 0.3 <= time.monotonic() - started < 0.3 + FAST
    assert raised.value.retryable
    assert failures.customer_message(raised.value) == failures.BUSY_MESSAGE
    assert flg.calls() == 1

    waiting.join(timeout=10)
    flg.fault("none")
    assert create().lead == LEAD


def test_beyond_the_waiting_calls_allowed_a_call_is_refused_at_once(flg, settings, monkeypatch):
    # Waiting calls hold threads: only so many may wait, so pages keep theirs.
    settings.FLG_MAX_CONCURRENT_CALLS = 1
    monkeypatch.setattr(transport, "MAX_SLOT_WAITERS", 1)
    flg.fault("hang", hang_seconds=2)
    calling_flg = calling()
    wait_until(lambda: flg.calls() == 1)
    waiting_for_a_place = calling()
    time.sleep(0.2)

    error = refused_at_once("already waiting")
    assert isinstance(error, errors.FlgBusy)
    calling_flg.join(timeout=10)
    waiting_for_a_place.join(timeout=10)


def test_refusals_by_the_cap_do_not_count_toward_the_breaker(flg, settings, monkeypatch):
    settings.FLG_MAX_CONCURRENT_CALLS = 1
    monkeypatch.setattr(transport, "SLOT_WAIT", 0.05)
    flg.fault("hang", hang_seconds=3)
    waiting = calling()
    wait_until(lambda: flg.calls() == 1)
    for _ in range(breaker.THRESHOLD + 1):
        with pytest.raises(errors.FlgBusy):
            create()
    waiting.join(timeout=10)
    assert not breaker.is_open()


def test_the_breaker_refuses_with_its_own_words(flg):
    flg.fault("500")
    fail_times(breaker.THRESHOLD)
    error = refused_at_once("circuit breaker is open")
    assert isinstance(error, errors.FlgBreakerOpen)
    assert failures.customer_message(error) != failures.BUSY_MESSAGE
    assert "not responding" in failures.customer_message(error)


def test_the_cap_defaults_to_eight_below_gunicorns_thread_count(settings):
    from tests.helpers import gunicorn_config_from

    threads = gunicorn_config_from(SECRET_KEY="x" * 50)["threads"]
    assert threads == 48
    assert threads == settings.FLG_MAX_CONCURRENT_CALLS + 8


# --- Without the cache ----------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_the_cache_down_the_breaker_still_opens_in_this_process(flg, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}",
        }
    }
    flg.fault("500")
    started = time.monotonic()
    fail_times(breaker.THRESHOLD)
    assert time.monotonic() - started < 5
    assert breaker.is_open()
    refused_at_once("circuit breaker is open")
    assert flg.calls() == breaker.THRESHOLD


def test_with_the_cache_down_a_healthy_flg_is_called_as_usual(flg, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}",
        }
    }
    for _ in range(3):
        assert create().lead == LEAD
    assert flg.calls() == 3
