"""The real client against the real sandbox over HTTP: the contract, faults, retries, breaker."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import socket
import threading
import time
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments import flg

LEAD = "108123759"


@pytest.fixture
def flg_ready(sandbox, customer, other_customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    return sandbox


def create(appointment_type):
    return flg.create_session(lead=LEAD, appointment_type=appointment_type.flg_id)


# --- The contract ---------------------------------------------------------------------------


def test_it_creates_a_session_with_the_documented_shape(flg_ready, type_for_all, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 900
    session = create(type_for_all)
    assert session.lead == LEAD
    assert session.appointment_type == type_for_all.flg_id
    assert session.closes_at.tzinfo is not None
    remaining = (session.closes_at - timezone.now()).total_seconds()
    assert 890 < remaining <= 900
    assert session.public_url.startswith(flg_ready.url + "/sandbox/appointments/book/")
    assert flg_ready.calls() == 1


def test_a_wrong_key_is_key_invalid(flg_ready, type_for_all, settings):
    settings.FLG_API_KEY = "not-the-key"
    with pytest.raises(flg.FlgKeyInvalid) as error:
        create(type_for_all)
    assert error.value.status == 401


def test_a_key_without_appointments_is_key_forbidden(flg_ready, type_for_all, settings):
    settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    with pytest.raises(flg.FlgKeyForbidden) as error:
        create(type_for_all)
    assert error.value.status == 403
    assert "Allow access to Appointments" in error.value.detail


def test_an_unknown_lead_is_rejected(flg_ready, type_for_all):
    with pytest.raises(flg.FlgRejected):
        flg.create_session(lead="4242", appointment_type=type_for_all.flg_id)


def test_an_unknown_type_is_rejected(flg_ready):
    with pytest.raises(flg.FlgRejected) as error:
        flg.create_session(lead=LEAD, appointment_type=uuid.uuid4())
    assert "FLG said:" in error.value.detail


def test_a_lead_group_mismatch_is_rejected(flg_ready, type_for_homeowners, other_customer):
    with pytest.raises(flg.FlgRejected):
        flg.create_session(lead=other_customer.lead_id, appointment_type=type_for_homeowners.flg_id)


def test_a_public_url_on_a_host_we_do_not_allow_is_refused(flg_ready, type_for_all, settings):
    settings.FLG_BOOKING_HOSTS = ["platform.getflg.com"]
    with pytest.raises(flg.FlgProtocolError, match="publicUrl"):
        create(type_for_all)


def test_without_configuration_it_says_so(settings, type_for_all):
    settings.FLG_BASE_URL = ""
    with pytest.raises(flg.FlgNotConfigured):
        create(type_for_all)


def test_the_key_never_reaches_a_message_or_a_log_line(flg_ready, type_for_all, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.FLG_API_KEY = "secret-key-that-is-wrong"
    with pytest.raises(flg.FlgError) as error:
        create(type_for_all)
    assert "secret-key-that-is-wrong" not in str(error.value)
    assert "secret-key-that-is-wrong" not in error.value.customer_message
    assert "secret-key-that-is-wrong" not in caplog.text
    assert "flg call" in caplog.text


# --- A recording server, to see exactly what is sent and to answer what FLG never would -----


class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = self.rfile.read(length)
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        status, headers, payload = self.server.answer(self)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder(settings):
    servers = []

    def start(answer):
        server = Recorder(answer)
        servers.append(server)
        settings.FLG_BASE_URL = server.url + "/prefix"
        settings.FLG_BOOKING_HOSTS = [f"127.0.0.1:{server.server_address[1]}"]
        settings.FLG_API_KEY = "the-key"
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def good_answer(handler):
    sent = json.loads(handler.server.requests[-1][3])
    port = handler.server.server_address[1]
    closes = (timezone.now() + dt.timedelta(minutes=30)).isoformat()
    body = {
        "sessionId": str(uuid.uuid4()),
        "lead": sent["lead"],
        "appointmentType": sent["appointmentType"],
        "closesAt": closes,
        " publicUrl": f"http://127.0.0.1:{port}/appointments/book/abc",
    }
    return 200, {"content-type": "application/json"}, json.dumps(body).encode()


def test_it_sends_exactly_the_documented_request(recorder, db):
    server = recorder(good_answer)
    type_id = uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1")
    flg.create_session(lead=LEAD, appointment_type=type_id)
    [(method, path, headers, body)] = server.requests
    headers = {k.lower(): v for k, v in headers.items()}
    assert method == "POST"
    assert path == "/prefix/api/v2/appointment-sessions"
    assert headers["authorization"] == "Bearer the-key"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert "booking-portal" in headers["user-agent"]
    assert json.loads(body) == {"lead": LEAD, "appointmentType": str(type_id)}


def test_a_redirect_is_never_followed(recorder, db):
    server = recorder(lambda h: (302, {"location": "/elsewhere"}, b""))
    with pytest.raises(flg.FlgProtocolError):
        flg.create_session(lead=LEAD, appointment_type=uuid.uuid4())
    assert len(server.requests) == 1


def test_an_answer_over_the_size_cap_is_refused(recorder, db):
    recorder(lambda h: (200, {"content-type": "application/json"}, b" " * 70_000 + b"{}"))
    with pytest.raises(flg.FlgProtocolError, match="bytes"):
        flg.create_session(lead=LEAD, appointment_type=uuid.uuid4())


def test_an_echoed_key_is_redacted_from_the_detail(recorder, db):
    recorder(lambda h: (400, {}, b"bad request for key the-key"))
    with pytest.raises(flg.FlgRejected) as error:
        flg.create_session(lead=LEAD, appointment_type=uuid.uuid4())
    assert "the-key" not in error.value.detail
    assert "[access key]" in error.value.detail


# --- Faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        ("429", flg.FlgUnavailable, 1),
        ("500", flg.FlgUnavailable, 1),
        ("503", flg.FlgUnavailable, 2),
        ("malformed", flg.FlgProtocolError, 1),
        ("html", flg.FlgProtocolError, 1),
    ],
)
def test_each_fault_maps_to_its_error_retrying_only_where_allowed(
    flg_ready, type_for_all, mode, error, calls
):
    flg_ready.fault(mode)
    with pytest.raises(error):
        create(type_for_all)
    assert flg_ready.calls() == calls


def test_one_gateway_error_is_retried_and_the_retry_succeeds(flg_ready, type_for_all):
    flg_ready.fault("503", times=1)
    assert create(type_for_all).lead == LEAD
    assert flg_ready.calls() == 2


def test_a_hang_returns_within_the_timeout(flg_ready, type_for_all, settings):
    settings.FLG_TIMEOUT = 2
    flg_ready.fault("hang", hang_seconds=6)
    started = time.monotonic()
    with pytest.raises(flg.FlgUnavailable, match="did not answer"):
        create(type_for_all)
    assert time.monotonic() - started < 2 + 1.0
    assert flg_ready.calls() == 1


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_is_unavailable_and_fast(settings, db):
    settings.FLG_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(flg.FlgUnavailable, match="refused"):
        flg.create_session(lead=LEAD, appointment_type=uuid.uuid4())
    assert time.monotonic() - started < 1.5


def test_the_breaker_opens_fails_fast_and_closes_again(flg_ready, type_for_all, monkeypatch):
    flg_ready.fault("500")
    for _ in range(flg.BREAKER_THRESHOLD):
        with pytest.raises(flg.FlgUnavailable):
            create(type_for_all)
    assert flg.breaker_is_open()
    calls = flg_ready.calls()
    with pytest.raises(flg.FlgUnavailable, match="circuit breaker"):
        create(type_for_all)
    assert flg_ready.calls() == calls

    flg_ready.fault("none")
    monkeypatch.setattr(flg.time, "time", lambda: time.monotonic() + 1e10)
    assert not flg.breaker_is_open()
    assert create(type_for_all).lead == LEAD
    monkeypatch.undo()
    assert not flg.breaker_is_open()


def test_refusals_do_not_count_toward_the_breaker(flg_ready, settings):
    for _ in range(flg.BREAKER_THRESHOLD + 1):
        with pytest.raises(flg.FlgRejected):
            flg.create_session(lead=LEAD, appointment_type=uuid.uuid4())
    assert not flg.breaker_is_open()


# --- flg_check --------------------------------------------------------------------------------


def test_flg_check_passes_with_the_good_key(flg_ready, capsys):
    call_command("flg_check")
    out = capsys.readouterr().out
    assert "OK: FLG 360 accepted the access key" in out
    assert "Initial consultation" in out and "All lead groups" in out
    assert flg_ready.GOOD_KEY not in out
    assert flg_ready.calls() == 2


def test_flg_check_explains_a_key_without_appointments(flg_ready, settings, capsys):
    settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    with pytest.raises(CommandError) as error:
        call_command("flg_check")
    assert "Allow access to Appointments" in str(error.value)
    assert flg_ready.NO_APPOINTMENTS_KEY not in str(error.value) + capsys.readouterr().out


def test_flg_check_explains_a_wrong_key(flg_ready, settings):
    settings.FLG_API_KEY = "typo-in-the-key"
    with pytest.raises(CommandError, match="invalid"):
        call_command("flg_check")


def test_flg_check_explains_a_host_where_nothing_listens(settings, db):
    settings.FLG_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(CommandError, match="could not be reached"):
        call_command("flg_check")


def test_flg_check_cannot_conclude_when_a_wrong_key_is_not_refused(recorder, db):
    recorder(lambda h: (400, {}, b"{}"))
    with pytest.raises(CommandError, match="cannot conclude"):
        call_command("flg_check")


def test_flg_check_full_test_creates_a_session(flg_ready, type_for_all, capsys):
    call_command("flg_check", "--lead", LEAD, "--type", str(type_for_all.flg_id))
    out = capsys.readouterr().out
    assert "closesAt:" in out
    assert "publicUrl: " + flg_ready.url in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--lead", "12a", "--type", str(uuid.uuid4())], "digits only"),
        (["--lead", "12", "--type", "nope"], "UUID"),
        (["--lead", "12"], "both"),
    ],
)
def test_flg_check_full_test_explains_bad_arguments(db, args, words):
    with pytest.raises(CommandError, match=words):
        call_command("flg_check", *args)
