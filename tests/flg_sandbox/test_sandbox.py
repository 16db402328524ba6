"""The sandbox answers as FLG 360 documents, in FLG's order of checks, and its screen books."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from flg_sandbox import services
from flg_sandbox.models import AccessKey, ApiCall, AppointmentType, Fault, Lead, Session

pytestmark = pytest.mark.django_db

API = "/sandbox/api/v2/appointment-sessions"
TYPE_ALL = "39594a1c-72db-4990-a63f-8d5139a5e4e1"
TYPE_GROUP_7 = "4da80d92-e6fb-432e-a631-aea2b1e97a05"


@pytest.fixture(autouse=True)
def flg_data(db):
    AccessKey.objects.create(key="good-key", allow_appointments=True)
    AccessKey.objects.create(key="no-appointments", allow_appointments=False)
    Lead.objects.create(lead_id="108123759", lead_group_id=7)
    Lead.objects.create(lead_id="200", lead_group_id=8)
    AppointmentType.objects.create(id=uuid.UUID(TYPE_ALL), name="For all", lead_group_id=None)
    AppointmentType.objects.create(id=uuid.UUID(TYPE_GROUP_7), name="Group 7", lead_group_id=7)


def post(client, body, key="good-key"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(API, data=data, content_type="application/json", **headers)


def test_it_creates_a_session_with_exactly_the_documented_fields(client, settings):
    settings.FLG_SANDBOX_SESSION_TTL = 600
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_GROUP_7.upper()})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"sessionId", "lead", "appointmentType", "closesAt", "publicUrl"}
    assert body["lead"] == "108123759"
    assert body["appointmentType"] == TYPE_GROUP_7
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["closesAt"])
    closes = dt.datetime.fromisoformat(body["closesAt"].replace("Z", "+00:00"))
    assert abs((closes - timezone.now()).total_seconds() - 600) < 5
    assert body["publicUrl"].startswith("http://testserver/sandbox/appointments/book/")
    assert uuid.UUID(body["sessionId"])


def test_the_public_url_is_on_the_host_the_request_came_to(client, settings):
    settings.ALLOWED_HOSTS = ["flg.test"]
    response = client.post(
        API,
        data=json.dumps({"lead": "108123759", "appointmentType": TYPE_ALL}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer good-key",
        HTTP_HOST="flg.test",
    )
    assert response.json()["publicUrl"].startswith("http://flg.test/sandbox/")


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_it_answers_401_before_looking_at_the_body(client, key):
    assert post(client, "not json", key=key).status_code == 401


def test_a_header_that_is_not_bearer_is_401(client):
    response = client.post(
        API, data="{}", content_type="application/json", HTTP_AUTHORIZATION="Basic good-key"
    )
    assert response.status_code == 401


def test_the_scheme_is_case_insensitive(client):
    response = client.post(
        API,
        data=json.dumps({"lead": "108123759", "appointmentType": TYPE_ALL}),
        content_type="application/json",
        HTTP_AUTHORIZATION="bearer good-key",
    )
    assert response.status_code == 200


def test_a_key_without_appointments_is_403_before_the_body(client):
    assert post(client, "not json", key="no-appointments").status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        {},
        {"lead": "108123759"},
        {"appointmentType": TYPE_ALL},
        {"lead": "", "appointmentType": TYPE_ALL},
        {"lead": "999", "appointmentType": TYPE_ALL},
        {"lead": "108123759", "appointmentType": "not-a-uuid"},
        {"lead": "108123759", "appointmentType": str(uuid.uuid4())},
        {"lead": "200", "appointmentType": TYPE_GROUP_7},
    ],
    ids=[
        "not-json",
        "not-object",
        "empty",
        "no-type",
        "no-lead",
        "blank-lead",
        "unknown-lead",
        "type-not-uuid",
        "unknown-type",
        "group-mismatch",
    ],
)
def test_it_answers_400_for_a_body_it_cannot_use(client, body):
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not Session.objects.exists()


def test_only_post_is_allowed(client):
    assert client.get(API).status_code == 405


def test_every_request_is_counted(client):
    post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    post(client, {}, key="wrong")
    assert list(ApiCall.objects.order_by("created_at").values_list("status", flat=True)) == [
        200,
        401,
    ]


def test_a_call_is_one_read_and_one_write(client, django_assert_num_queries):
    # The bench counts the sandbox's work on a call as the portal's (bench/sandbox_cost.py):
    # the fault, key, type and lead in one read; the session and the call's count in one write,
    # which PostgreSQL takes as one message.
    body = {"lead": "108123759", "appointmentType": TYPE_ALL}
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3):
        assert post(client, body).status_code == 200
    assert Session.objects.count() == ApiCall.objects.count() == 1


def test_it_answers_before_any_fault_was_ever_set(client):
    Fault.objects.all().delete()
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    assert response.status_code == 200


@pytest.mark.parametrize(("mode", "status"), [("429", 429), ("500", 500), ("503", 503)])
def test_a_forced_status_is_answered(client, mode, status):
    services.fault_set(mode=mode)
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    assert response.status_code == status
    assert ApiCall.objects.get().fault == mode


def test_malformed_json_is_answered_with_200(client):
    services.fault_set(mode="malformed")
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_an_html_page_is_answered_with_200(client):
    services.fault_set(mode="html")
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_a_limited_fault_applies_that_many_times_then_stops(client):
    services.fault_set(mode="503", times=2)
    body = {"lead": "108123759", "appointmentType": TYPE_ALL}
    assert [post(client, body).status_code for _ in range(3)] == [503, 503, 200]
    assert services.fault_current().mode == "none"


def test_a_hang_waits_then_answers_503(client):
    services.fault_set(mode="hang", hang_seconds=1)
    started = timezone.now()
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    assert response.status_code == 503
    assert (timezone.now() - started).total_seconds() >= 1


def test_an_injected_latency_is_the_whole_answer_time_the_sandbox_work_included(
    client, monkeypatch
):
    # FLG "answering in 300 ms" answers 300 ms after the call came, not 300 ms plus the
    # stand-in's own work (a benchmark would count that work as the portal's).
    services.fault_set(mode="none", latency_ms=300)
    create = services.session_create

    def slow_create(**kwargs):
        time.sleep(0.2)
        return create(**kwargs)

    monkeypatch.setattr(services, "session_create", slow_create)
    started = time.monotonic()
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    took = time.monotonic() - started
    assert response.status_code == 200
    assert 0.3 <= took < 0.45  # 0.5 if the latency came on top of the work


def test_a_latency_delays_a_refusal_too(client):
    services.fault_set(mode="none", latency_ms=200)
    started = time.monotonic()
    assert post(client, {"lead": "999", "appointmentType": TYPE_ALL}).status_code == 400
    assert time.monotonic() - started >= 0.2


# --- The booking screen ------------------------------------------------------------------


@pytest.fixture
def session(client):
    response = post(client, {"lead": "108123759", "appointmentType": TYPE_ALL})
    return Session.objects.get(session_id=response.json()["sessionId"])


def screen(session):
    return f"/sandbox/appointments/book/{session.token}"


def test_the_screen_offers_slots_on_working_days_only(client, session):
    with time_machine.travel(dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC), tick=False):
        session.closes_at = timezone.now() + dt.timedelta(minutes=30)
        session.save()
        response = client.get(screen(session))
    slots = response.context["slots"]
    assert response.status_code == 200
    assert {s.starts_at.date().isoformat() for s in slots} == {
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
    }
    assert "Book this appointment" in response.content.decode()


def test_the_portal_may_frame_the_screen(client, session):
    response = client.get(screen(session))
    assert "X-Frame-Options" not in response


def test_booking_a_slot_closes_the_session(client, session):
    slot = services.slots_for(session=session)[3]
    response = client.post(screen(session), {"slot": slot.value})
    assert response.status_code == 200
    assert "Your appointment is booked for" in response.content.decode()
    session.refresh_from_db()
    assert session.booked_slot == slot.starts_at
    assert session.closed_at is not None
    again = client.post(screen(session), {"slot": slot.value})
    assert again.status_code == 410
    assert "This booking session has closed" in again.content.decode()


def test_the_booked_screen_names_the_session_and_the_slot_with_offsets_and_a_way_back(
    client, session
):
    slot = services.slots_for(session=session)[3]
    response = client.post(screen(session), {"slot": slot.value})
    page = response.content.decode()
    # What its script posts to the portal's page (its frame's parent, or its opener).
    assert f'data-session-id="{session.session_id}"' in page
    start = re.search(r'data-start="([^"]+)"', page)[1]
    end = re.search(r'data-end="([^"]+)"', page)[1]
    assert dt.datetime.fromisoformat(start) == slot.starts_at
    assert dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start) == (
        services.SLOT_LENGTH
    )
    assert re.search(r"[+-]\d\d:\d\d$", start) and re.search(r"[+-]\d\d:\d\d$", end)
    assert re.search(r'<a [^>]*id="back-to-portal" href="/">Back to the booking portal</a>', page)
    # A window of its own keeps its link to the portal's page that opened it.
    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"


@pytest.mark.parametrize("slot", ["", "2001-01-01T09:00", "nonsense"])
def test_a_missing_or_unknown_slot_is_refused_clearly(client, session, slot):
    response = client.post(screen(session), {"slot": slot})
    assert response.status_code == 400
    assert "Please choose one of the times offered" in response.content.decode()
    session.refresh_from_db()
    assert session.closed_at is None


def test_an_expired_session_shows_the_closed_screen(client, session):
    session.closes_at = timezone.now() - dt.timedelta(seconds=1)
    session.save()
    response = client.get(screen(session))
    assert response.status_code == 410
    assert "This booking session has closed" in response.content.decode()


def test_an_unknown_token_is_404(client):
    assert client.get("/sandbox/appointments/book/nope").status_code == 404


def test_the_index_explains_the_sandbox(staff):
    # Staff only on a demo host (test_sandbox_demo_host.py); DEBUG=0 here.
    response = staff.get("/sandbox/")
    assert response.status_code == 200
    assert "FLG 360 sandbox" in response.content.decode()
