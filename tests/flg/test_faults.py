"""When FLG misbehaves: each fault maps to its error, retries only where no duplicate can
result (counted at the sandbox), the FLG_TIMEOUT budget holds, and the breaker protects us."""

from __future__ import annotations

import datetime as dt
import itertools
import json
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
from tests.flg.test_contract import Recorder, good_answer

LEAD = "108123759"
TYPE = uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1")


@pytest.fixture
def flg_ready(sandbox):
    sandbox_models.Lead.objects.create(lead_id=LEAD, lead_group_id=101)
    sandbox_models.AppointmentType.objects.create(id=TYPE, name="Initial consultation")
    return sandbox


def create() -> sessions.FlgSession:
    return sessions.create(lead=LEAD, appointment_type=TYPE)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Each fault, and how often it reaches FLG --------------------------------------------------


def test_without_a_fault_one_call_creates_a_session(flg_ready):
    assert create().lead == LEAD
    assert flg_ready.calls() == 1


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        ("429", errors.FlgUnavailable, 1),
        ("500", errors.FlgUnavailable, 1),
        ("503", errors.FlgUnavailable, 2),
        ("malformed", errors.FlgProtocolError, 1),
        ("html", errors.FlgProtocolError, 1),
    ],
)
def test_each_fault_maps_to_its_error_and_is_retried_only_where_allowed(
    flg_ready, mode, error, calls
):
    flg_ready.fault(mode)
    with pytest.raises(error) as raised:
        create()
    assert type(raised.value) is error
    assert flg_ready.calls() == calls
    assert sandbox_models.Session.objects.count() == 0


@pytest.mark.parametrize(("mode", "words"), [("malformed", "not JSON"), ("html", "Maintenance")])
def test_a_bad_200_is_described_for_admins(flg_ready, mode, words):
    flg_ready.fault(mode)
    with pytest.raises(errors.FlgProtocolError) as raised:
        create()
    assert raised.value.status == 200
    assert words in raised.value.detail


@pytest.mark.parametrize("mode", ["429", "500", "503"])
def test_an_unavailable_flg_says_try_again_to_the_customer(flg_ready, mode):
    flg_ready.fault(mode)
    with pytest.raises(errors.FlgUnavailable) as raised:
        create()
    assert raised.value.retryable
    assert raised.value.status == int(mode)
    assert "try again" in failures.customer_message(raised.value)
    assert failures.http_status(raised.value) == 503


def test_one_gateway_error_is_retried_and_the_retry_succeeds(flg_ready):
    flg_ready.fault("503", times=1)
    assert create().lead == LEAD
    assert flg_ready.calls() == 2
    assert sandbox_models.Session.objects.count() == 1


def test_a_gateway_error_is_retried_only_once(flg_ready):
    flg_ready.fault("503", times=2)
    with pytest.raises(errors.FlgUnavailable):
        create()
    assert flg_ready.calls() == 2
    assert create().lead == LEAD
    assert flg_ready.calls() == 3


def test_added_latency_within_the_timeout_still_succeeds(flg_ready):
    flg_ready.fault("none", latency_ms=300)
    started = time.monotonic()
    assert create().lead == LEAD
    assert time.monotonic() - started >= 0.3


def test_a_hang_returns_within_the_timeout_and_is_not_retried(flg_ready, settings):
    settings.FLG_TIMEOUT = 2
    flg_ready.fault("hang", hang_seconds=5)
    started = time.monotonic()
    with pytest.raises(errors.FlgUnavailable, match="did not answer"):
        create()
    assert time.monotonic() - started < 2 + 0.75
    # The request reached FLG, which may yet create a session: a retry could make two.
    assert flg_ready.calls() == 1


def test_a_refused_connection_is_unavailable_and_quick(settings):
    settings.FLG_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(errors.FlgUnavailable, match="refused") as raised:
        create()
    assert time.monotonic() - started < 1.5
    assert raised.value.status is None


def test_a_refused_connection_is_retried_until_flg_listens(settings):
    # Nothing reached FLG, so trying again cannot create a second session.
    port = closed_port()
    settings.FLG_BASE_URL = f"http://127.0.0.1:{port}"
    settings.FLG_BOOKING_HOSTS = [f"127.0.0.1:{port}"]
    servers: list[Recorder] = []

    def listen_soon() -> None:
        time.sleep(0.03)
        servers.append(Recorder(good_answer, port=port))

    starter = threading.Thread(target=listen_soon)
    starter.start()
    try:
        assert create().lead == LEAD
    finally:
        starter.join()
        for server in servers:
            server.shutdown()
            server.server_close()
    assert len(servers[0].requests) == 1


def test_a_dropped_connection_is_unavailable_and_not_retried(settings):
    # FLG may have received the request before the connection dropped: no second attempt.
    accepted: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def drop_each() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(65536)
            conn.close()

    threading.Thread(target=drop_each, daemon=True).start()
    settings.FLG_BASE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(errors.FlgUnavailable, match="dropped"):
            create()
    finally:
        listener.close()
    assert accepted == [1]


class KeepAliveFLG:
    """FLG over HTTP/1.1 keep-alive on a real socket, whose side closes a kept connection as
    the next call arrives on it (an idle timeout, a recycled server), unanswered, as told."""

    def __init__(self, drop: Callable[[int, int], bool]) -> None:
        # drop(connection number, request number on it) -> close instead of answering.
        self.drop = drop
        self.requests: list[tuple[int, int]] = []  # (connection, request) as each arrived
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        connection = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            connection += 1
            threading.Thread(target=self._talk, args=(conn, connection), daemon=True).start()

    def _talk(self, conn: socket.socket, connection: int) -> None:
        stream = conn.makefile("rb")
        with conn, stream:
            for number in itertools.count(1):
                head = [stream.readline()]
                while head[-1] not in (b"\r\n", b""):
                    head.append(stream.readline())
                if head[0] == b"":
                    return  # the client closed it
                length = next(
                    int(line.split(b":")[1])
                    for line in head
                    if line.lower().startswith(b"content-length")
                )
                sent = json.loads(stream.read(length))
                self.requests.append((connection, number))
                if self.drop(connection, number):
                    return
                body = json.dumps(
                    {
                        "sessionId": str(uuid.uuid4()),
                        "lead": sent["lead"],
                        "appointmentType": sent["appointmentType"],
                        "closesAt": (timezone.now() + dt.timedelta(minutes=30)).isoformat(),
                        " publicUrl": f"{self.url}/appointments/book/abc",
                    }
                ).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def keep_alive_flg(settings):
    servers: list[KeepAliveFLG] = []

    def start(drop: Callable[[int, int], bool]) -> KeepAliveFLG:
        server = KeepAliveFLG(drop)
        servers.append(server)
        settings.FLG_BASE_URL = server.url
        settings.FLG_BOOKING_HOSTS = [server.url.removeprefix("http://")]
        return server

    transport.connections_close()  # no connection kept from another test
    yield start
    transport.connections_close()
    for server in servers:
        server.close()


def test_a_kept_connection_closed_as_a_call_goes_out_is_sent_again_once_on_a_new_one(
    keep_alive_flg, caplog
):
    # The first connection answers its first call, then is closed as the second arrives.
    flg = keep_alive_flg(lambda connection, number: (connection, number) == (1, 2))
    assert create().lead == LEAD
    assert create().lead == LEAD  # no error for the customer, and none for the breaker
    assert flg.requests == [(1, 1), (1, 2), (2, 1)]
    assert breaker.state().failures == 0
    assert "FLG closed a kept connection as a call went out on it; sent again" in caplog.text


def test_a_call_sent_again_is_sent_again_only_once(keep_alive_flg):
    # The kept connection closes on the second call, and so does the new one it is sent on.
    flg = keep_alive_flg(lambda connection, number: (connection, number) in {(1, 2), (2, 1)})
    create()
    with pytest.raises(errors.FlgUnavailable, match="dropped"):
        create()
    assert flg.requests == [(1, 1), (1, 2), (2, 1)]


def test_a_kept_connection_that_answers_is_used_again(keep_alive_flg):
    flg = keep_alive_flg(lambda connection, number: False)
    for _ in range(3):
        create()
    assert flg.requests == [(1, 1), (1, 2), (1, 3)]


def test_a_domain_that_does_not_resolve_says_so(settings):
    settings.FLG_BASE_URL = "https://flg-portal-test.invalid"
    with pytest.raises(errors.FlgUnavailable, match="FLG_DOMAIN"):
        create()


# --- The circuit breaker --------------------------------------------------------------------


def fail_times(count: int) -> None:
    for _ in range(count):
        with pytest.raises(errors.FlgUnavailable):
            create()


def test_the_breaker_opens_after_repeated_unavailable_answers(flg_ready):
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD - 1)
    assert not breaker.is_open()
    fail_times(1)
    assert breaker.is_open()
    assert flg_ready.calls() == breaker.THRESHOLD


def test_an_open_breaker_fails_fast_without_reaching_flg(flg_ready):
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD)
    flg_ready.fault("none")
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(errors.FlgUnavailable, match="circuit breaker") as raised:
            create()
    assert time.monotonic() - started < 0.5
    assert flg_ready.calls() == breaker.THRESHOLD
    assert "try again" in failures.customer_message(raised.value)


def test_the_breaker_closes_after_the_cooldown(flg_ready, time_machine):
    time_machine.move_to(timezone.now(), tick=True)
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD)
    flg_ready.fault("none")
    time_machine.shift(dt.timedelta(seconds=breaker.COOLDOWN - 5))
    assert breaker.is_open()
    time_machine.shift(dt.timedelta(seconds=6))
    assert not breaker.is_open()
    assert create().lead == LEAD
    assert flg_ready.calls() == breaker.THRESHOLD + 1


def test_a_failed_trial_after_the_cooldown_opens_it_again(flg_ready, time_machine):
    time_machine.move_to(timezone.now(), tick=True)
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD)
    time_machine.shift(dt.timedelta(seconds=breaker.COOLDOWN + 1))
    fail_times(1)
    assert breaker.is_open()
    assert flg_ready.calls() == breaker.THRESHOLD + 1


def test_a_success_makes_the_breaker_forget_earlier_failures(flg_ready, time_machine):
    time_machine.move_to(timezone.now(), tick=True)
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD)
    time_machine.shift(dt.timedelta(seconds=breaker.COOLDOWN + 1))
    flg_ready.fault("none")
    create()
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD - 1)
    assert not breaker.is_open()


def test_breaker_reset_closes_it_at_once(flg_ready):
    flg_ready.fault("500")
    fail_times(breaker.THRESHOLD)
    breaker.reset()
    assert not breaker.is_open()
    flg_ready.fault("none")
    assert create().lead == LEAD


@pytest.mark.parametrize(
    ("key", "lead", "error"),
    [
        ("sandbox-appointments-key", "4242", errors.FlgRejected),
        ("not-a-key", LEAD, errors.FlgKeyInvalid),
        ("sandbox-no-appointments-key", LEAD, errors.FlgKeyForbidden),
    ],
)
def test_refusals_do_not_count_toward_the_breaker(flg_ready, settings, key, lead, error):
    settings.FLG_API_KEY = key
    for _ in range(breaker.THRESHOLD + 1):
        with pytest.raises(error):
            sessions.create(lead=lead, appointment_type=TYPE)
    assert not breaker.is_open()
    assert flg_ready.calls() == breaker.THRESHOLD + 1


def test_refused_connections_count_toward_the_breaker(settings, monkeypatch):
    monkeypatch.setattr(transport, "REFUSED_RETRY_DELAYS", (0.01,))
    settings.FLG_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    fail_times(breaker.THRESHOLD)
    assert breaker.is_open()
