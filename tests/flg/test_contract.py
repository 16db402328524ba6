"""The real client against FLG's contract over real HTTP: the sandbox, and a recording server
for what the sandbox would never answer (redirects, oversized or trickled answers)."""

from __future__ import annotations

import datetime as dt
import gzip
import http.server
import json
import logging
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from appointments import failures
from flg import errors, sessions, transport
from flg_sandbox import models as sandbox_models

LEAD = "108123759"
OTHER_LEAD = "108123760"
TYPE_FOR_ALL = uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1")
TYPE_FOR_HOMEOWNERS = uuid.UUID("4da80d92-e6fb-432e-a631-aea2b1e97a05")


@pytest.fixture
def flg_ready(sandbox):
    """The sandbox holding two leads in two lead groups, a type for all and one for a group."""
    sandbox_models.Lead.objects.create(lead_id=LEAD, lead_group_id=101)
    sandbox_models.Lead.objects.create(lead_id=OTHER_LEAD, lead_group_id=102)
    sandbox_models.AppointmentType.objects.create(id=TYPE_FOR_ALL, name="Initial consultation")
    sandbox_models.AppointmentType.objects.create(
        id=TYPE_FOR_HOMEOWNERS, name="Home survey", lead_group_id=101
    )
    return sandbox


# --- The sandbox: the documented answers ----------------------------------------------------


def test_it_creates_a_session_with_the_documented_shape(flg_ready, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 900
    session = sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert isinstance(session, sessions.FlgSession)
    assert session.lead == LEAD
    assert session.appointment_type == TYPE_FOR_ALL
    assert session.closes_at.utcoffset() == dt.timedelta(0)
    remaining = (session.closes_at - timezone.now()).total_seconds()
    assert 890 < remaining <= 900
    url = urlsplit(session.public_url)
    assert url.netloc == urlsplit(flg_ready.url).netloc
    assert url.path.startswith("/sandbox/appointments/book/")
    stored = sandbox_models.Session.objects.get()
    assert stored.session_id == session.session_id
    assert (stored.lead.lead_id, stored.appointment_type_id) == (LEAD, TYPE_FOR_ALL)


def test_it_sends_the_lead_and_type_the_sandbox_records(flg_ready):
    sessions.create(lead=LEAD, appointment_type=TYPE_FOR_HOMEOWNERS)
    call = sandbox_models.ApiCall.objects.get()
    assert (call.status, call.lead, call.appointment_type) == (200, LEAD, str(TYPE_FOR_HOMEOWNERS))


def test_it_gives_one_session_per_call(flg_ready):
    first = sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    second = sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert first.session_id != second.session_id
    assert first.public_url != second.public_url
    assert flg_ready.calls() == 2


def test_a_wrong_key_is_key_invalid(flg_ready, settings):
    settings.FLG_API_KEY = "not-the-key"
    with pytest.raises(errors.FlgKeyInvalid) as error:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert error.value.status == 401
    assert "invalid" in error.value.detail
    assert not error.value.retryable


def test_a_key_without_appointments_is_key_forbidden(flg_ready, settings):
    settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    with pytest.raises(errors.FlgKeyForbidden) as error:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert error.value.status == 403
    assert "Allow access to Appointments" in error.value.detail


def test_an_unknown_lead_is_rejected(flg_ready):
    with pytest.raises(errors.FlgRejected) as error:
        sessions.create(lead="4242", appointment_type=TYPE_FOR_ALL)
    assert error.value.status == 400
    assert "lead could not be found" in error.value.detail


def test_an_unknown_type_is_rejected(flg_ready):
    with pytest.raises(errors.FlgRejected) as error:
        sessions.create(lead=LEAD, appointment_type=uuid.uuid4())
    assert "appointment type could not be found" in error.value.detail


def test_a_lead_group_mismatch_is_rejected(flg_ready):
    with pytest.raises(errors.FlgRejected) as error:
        sessions.create(lead=OTHER_LEAD, appointment_type=TYPE_FOR_HOMEOWNERS)
    assert "lead group" in error.value.detail
    assert sandbox_models.Session.objects.count() == 0


def test_each_error_has_a_customer_message_without_detail(flg_ready):
    with pytest.raises(errors.FlgRejected) as error:
        sessions.create(lead="4242", appointment_type=TYPE_FOR_ALL)
    assert "contact us" in failures.customer_message(error.value)
    assert "4242" not in failures.customer_message(error.value)


def test_a_public_url_on_a_host_we_do_not_allow_is_refused(flg_ready, settings):
    settings.FLG_BOOKING_HOSTS = ["platform.getflg.com"]
    with pytest.raises(errors.FlgProtocolError, match="publicUrl"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)


def test_a_type_given_as_text_is_sent_and_matched_as_a_uuid(flg_ready):
    session = sessions.create(lead=LEAD, appointment_type=str(TYPE_FOR_ALL).upper())
    assert session.appointment_type == TYPE_FOR_ALL


def test_without_a_domain_it_is_not_configured_and_calls_nothing(flg_ready, settings):
    settings.FLG_BASE_URL = ""
    with pytest.raises(errors.FlgNotConfigured):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert flg_ready.calls() == 0


def test_without_a_key_it_is_not_configured_and_calls_nothing(flg_ready, settings):
    settings.FLG_API_KEY = ""
    with pytest.raises(errors.FlgNotConfigured):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert flg_ready.calls() == 0


def test_a_key_that_cannot_be_sent_is_key_invalid_and_calls_nothing(flg_ready, settings):
    settings.FLG_API_KEY = "sandbox-appointments-key\u2019"
    with pytest.raises(errors.FlgKeyInvalid, match="copy it again"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert flg_ready.calls() == 0


def test_the_key_never_reaches_a_message_or_a_log_line(flg_ready, settings, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "secret-key-that-is-wrong"
    settings.FLG_API_KEY = secret
    with pytest.raises(errors.FlgKeyInvalid) as error:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    settings.FLG_API_KEY = flg_ready.GOOD_KEY
    sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    texts = [
        str(error.value),
        error.value.detail,
        failures.customer_message(error.value),
        caplog.text,
    ]
    texts += [str(record.__dict__) for record in caplog.records]
    assert not [text for text in texts if secret in text or flg_ready.GOOD_KEY in text]
    assert "flg call create_session status=401 outcome=key_invalid" in caplog.text
    assert "flg call create_session status=200 outcome=ok" in caplog.text


# --- A recording server: exactly what is sent, and answers FLG should never give -------------

Answer = tuple[int, dict[str, str], bytes | Iterable[bytes]]


class Recorder(http.server.ThreadingHTTPServer):
    """A real HTTP server on loopback that records each request and answers as told."""

    daemon_threads = True

    def __init__(self, answer: Callable[[Recorder, dict], Answer], *, port: int = 0) -> None:
        self.answer = answer
        self.requests: list[dict] = []
        super().__init__(("127.0.0.1", port), RecordingHandler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def server_bind(self) -> None:
        # HTTPServer would look up the host's full name, which can be slow; loopback needs none.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def handle_any(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "client": self.client_address,
        }
        self.server.requests.append(request)
        status, headers, payload = self.server.answer(self.server, request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if isinstance(payload, bytes):
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        # No length: the body runs until the connection closes (HTTP/1.0), piece by piece.
        self.end_headers()
        try:
            for piece in payload:
                self.wfile.write(piece)
                self.wfile.flush()
        except OSError:
            pass

    do_POST = do_GET = do_PUT = handle_any

    def log_message(self, *args: object) -> None:
        pass


def good_answer(server: Recorder, request: dict) -> Answer:
    sent = json.loads(request["body"])
    body = {
        "sessionId": str(uuid.uuid4()),
        "lead": sent["lead"],
        "appointmentType": sent["appointmentType"],
        "closesAt": (timezone.now() + dt.timedelta(minutes=30)).isoformat(),
        " publicUrl": f"{server.url}/appointments/book/abc",
    }
    return 200, {"content-type": "application/json"}, json.dumps(body).encode()


def test_it_sends_exactly_the_documented_request(recorder):
    server = recorder(good_answer)
    sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    [request] = server.requests
    headers = request["headers"]
    assert request["method"] == "POST"
    assert request["path"] == "/prefix/api/v2/appointment-sessions"
    assert headers["authorization"] == "Bearer the-key-0123456789"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("flg-booking-portal/")
    assert "cookie" not in headers
    assert json.loads(request["body"]) == {"lead": LEAD, "appointmentType": str(TYPE_FOR_ALL)}
    assert int(headers["content-length"]) == len(request["body"])


def test_it_honours_a_base_url_with_a_path_prefix(recorder, settings):
    server = recorder(good_answer)
    settings.FLG_BASE_URL = server.url + "/flg/tenant-7"
    sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert server.requests[0]["path"] == "/flg/tenant-7/api/v2/appointment-sessions"


def test_it_reuses_one_connection_for_several_calls(recorder):
    server = recorder(good_answer)
    server.RequestHandlerClass.protocol_version = "HTTP/1.1"
    try:
        for _ in range(3):
            sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    finally:
        server.RequestHandlerClass.protocol_version = "HTTP/1.0"
    assert len(server.requests) == 3
    assert len({request["client"] for request in server.requests}) == 1


def test_a_redirect_is_never_followed(recorder):
    elsewhere = Recorder(good_answer)
    try:
        server = recorder(
            lambda s, r: (307, {"location": elsewhere.url + "/api/v2/appointment-sessions"}, b"")
        )
        with pytest.raises(errors.FlgProtocolError, match="redirect") as error:
            sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
        assert len(server.requests) == 1
        assert elsewhere.requests == []
        assert error.value.status == 307
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_a_302_is_a_protocol_error_and_nothing_is_fetched_at_the_location(recorder):
    server = recorder(lambda s, r: (302, {"location": "/elsewhere"}, b"Found"))
    with pytest.raises(errors.FlgProtocolError):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert [r["path"] for r in server.requests] == ["/prefix/api/v2/appointment-sessions"]


def test_a_redirect_with_an_endless_body_is_not_read_past_the_cap(recorder):
    endless = (b" " * 8192 for _ in range(1000))
    recorder(lambda s, r: (302, {"location": "/elsewhere"}, endless))
    started = time.monotonic()
    with pytest.raises(errors.FlgProtocolError, match="bytes"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert time.monotonic() - started < 2


def test_cookies_flg_sets_are_never_sent_back(recorder):
    def with_cookie(server: Recorder, request: dict) -> Answer:
        status, headers, body = good_answer(server, request)
        return status, {**headers, "set-cookie": "lb=node-7; Path=/"}, body

    server = recorder(with_cookie)
    sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert [r["headers"].get("cookie") for r in server.requests] == [None, None]


def test_an_answer_declared_over_the_size_cap_is_refused(recorder):
    big = b" " * (transport.MAX_ANSWER_BYTES + 1) + b"{}"
    recorder(lambda s, r: (200, {"content-type": "application/json"}, big))
    with pytest.raises(errors.FlgProtocolError, match="bytes"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)


def test_an_answer_streamed_over_the_size_cap_is_refused(recorder):
    endless = (b" " * 8192 for _ in range(1000))
    recorder(lambda s, r: (200, {"content-type": "application/json"}, endless))
    started = time.monotonic()
    with pytest.raises(errors.FlgProtocolError, match="bytes"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert time.monotonic() - started < 2


def test_an_answer_just_under_the_size_cap_is_read(recorder):
    def padded(server: Recorder, request: dict) -> Answer:
        status, headers, body = good_answer(server, request)
        assert isinstance(body, bytes)
        return status, headers, body + b" " * (transport.MAX_ANSWER_BYTES - len(body))

    recorder(padded)
    assert sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL).lead == LEAD


def test_a_chunked_answer_is_read(recorder):
    def chunked(server: Recorder, request: dict) -> Answer:
        status, headers, body = good_answer(server, request)
        assert isinstance(body, bytes)
        pieces = [body[i : i + 50] for i in range(0, len(body), 50)]
        encoded = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]
        return status, {**headers, "transfer-encoding": "chunked"}, iter(encoded)

    recorder(chunked)
    assert sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL).lead == LEAD


def test_a_gzipped_answer_is_read(recorder):
    def gzipped(server: Recorder, request: dict) -> Answer:
        status, headers, body = good_answer(server, request)
        assert isinstance(body, bytes)
        return status, {**headers, "content-encoding": "gzip"}, gzip.compress(body)

    recorder(gzipped)
    assert sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL).lead == LEAD


def test_a_gzipped_answer_that_unpacks_past_the_size_cap_is_refused(recorder):
    bomb = gzip.compress(b" " * 50 * transport.MAX_ANSWER_BYTES)
    assert len(bomb) < transport.MAX_ANSWER_BYTES
    recorder(lambda s, r: (200, {"content-encoding": "gzip"}, bomb))
    with pytest.raises(errors.FlgProtocolError, match="bytes"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)


def test_an_answer_trickled_past_the_timeout_is_cut_off(recorder, settings):
    settings.FLG_TIMEOUT = 1

    def trickle() -> Iterable[bytes]:
        for _ in range(50):
            yield b" "
            time.sleep(0.1)

    recorder(lambda s, r: (200, {"content-type": "application/json"}, trickle()))
    started = time.monotonic()
    with pytest.raises(errors.FlgUnavailable, match="budget"):
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert time.monotonic() - started < 1 + 0.5


def test_a_key_echoed_in_an_error_is_redacted_even_where_the_excerpt_cuts(recorder):
    # The excerpt keeps EXCERPT_CHARS characters and the key starts 7 before the cut, so a
    # redaction after excerpting would let "the-key" through.
    echoed = b"x" * (transport.EXCERPT_CHARS - 8) + b" the-key-0123456789 and more"
    recorder(lambda s, r: (400, {}, echoed))
    with pytest.raises(errors.FlgRejected) as error:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert "xxx [access" in error.value.detail
    assert "the-key" not in error.value.detail


def test_a_key_echoed_in_full_is_redacted(recorder, caplog):
    recorder(lambda s, r: (400, {}, b'{"message": "bad request for key the-key-0123456789"}'))
    with pytest.raises(errors.FlgRejected) as error:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert "the-key-0123456789" not in error.value.detail + caplog.text
    assert "[access key]" in error.value.detail


def test_a_public_url_carrying_the_key_is_never_framed(recorder):
    def leaky(server: Recorder, request: dict) -> Answer:
        status, headers, body = good_answer(server, request)
        assert isinstance(body, bytes)
        return status, headers, body.replace(b"/book/abc", b"/book/the-key-0123456789")

    recorder(leaky)
    with pytest.raises(errors.FlgProtocolError, match="publicUrl") as error:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert "the-key-0123456789" not in error.value.detail


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.FlgRejected),
        (401, errors.FlgKeyInvalid),
        (403, errors.FlgKeyForbidden),
        (404, errors.FlgProtocolError),
        (405, errors.FlgProtocolError),
        (429, errors.FlgUnavailable),
        (500, errors.FlgUnavailable),
        (502, errors.FlgUnavailable),
        (204, errors.FlgProtocolError),
    ],
)
def test_each_status_maps_to_its_error(recorder, status, error):
    recorder(lambda s, r: (status, {"content-type": "text/plain"}, b"FLG says no"))
    with pytest.raises(error) as raised:
        sessions.create(lead=LEAD, appointment_type=TYPE_FOR_ALL)
    assert raised.value.status == status
    assert "FLG says no" in raised.value.detail or status == 204
