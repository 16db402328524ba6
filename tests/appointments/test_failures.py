"""FLG failure records: each failure kept for staff, counted per type, shown where it matters."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import services
from appointments.models import AppointmentType, FlgFailure
from flg import errors

TYPES_URL = "admin:appointments_appointmenttype_changelist"
FAILURES_URL = "admin:appointments_flgfailure_changelist"


@pytest.fixture
def flg_ready(sandbox, customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    return sandbox


def row_text(failure: FlgFailure) -> str:
    return " ".join(str(getattr(failure, f.attname)) for f in FlgFailure._meta.concrete_fields)


def fail_to_start(sandbox, customer, appointment_type, mode="500"):
    sandbox.fault(mode)
    with pytest.raises(errors.FlgError):
        services.session_start(customer=customer, appointment_type=appointment_type)
    sandbox.fault("none")


# --- What is recorded ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "code", "status", "words"),
    [
        ("unknown type", "rejected", 400, "the type id may be wrong"),
        ("wrong key", "key_invalid", 401, "access key is invalid"),
        ("no permission", "key_forbidden", 403, "lacks 'Allow access to Appointments'"),
        ("503", "unavailable", 503, "FLG is unavailable (503)"),
        ("malformed", "protocol_error", 200, "the answer is not JSON"),
        ("html", "protocol_error", 200, "the answer is not JSON"),
    ],
)
def test_each_failure_is_stored_with_its_fields_and_without_the_key(
    flg_ready, customer, type_for_all, settings, problem, code, status, words
):
    from flg_sandbox.models import AppointmentType as SandboxType

    if problem == "unknown type":
        SandboxType.objects.filter(id=type_for_all.flg_id).delete()
    elif problem == "wrong key":
        settings.FLG_API_KEY = "sk-wrong-4f9c2d7e1b"
    elif problem == "no permission":
        settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    else:
        flg_ready.fault(problem)
    client = Client()
    client.force_login(customer.user)
    before = timezone.now()
    page = client.post("/book/initial-consultation/")
    assert page.status_code in (502, 503)

    failure = FlgFailure.objects.get()
    assert (failure.code, failure.status) == (code, status)
    assert failure.customer == customer
    assert failure.appointment_type == type_for_all
    assert failure.action == FlgFailure.Action.START
    assert before <= failure.created_at <= timezone.now()
    assert words in failure.detail
    # What the customer was shown, word for word; the detail is for staff only.
    assert failure.customer_message in page.content.decode().replace("&#x27;", "'")
    assert "FLG said" not in failure.customer_message
    assert settings.FLG_API_KEY not in row_text(failure)
    assert code in str(failure) or failure.get_code_display() in str(failure)


def test_a_key_echoed_by_flg_never_reaches_the_record(db, recorder, customer, type_for_all):
    # FLG quotes the key back in its answer; what staff later read must not hold it.
    server = recorder(lambda s, r: (400, {}, b'{"message": "no such key the-key-0123456789"}'))
    with pytest.raises(errors.FlgRejected):
        services.session_start(customer=customer, appointment_type=type_for_all)
    assert len(server.requests) == 1
    failure = FlgFailure.objects.get()
    assert "the-key-0123456789" not in row_text(failure)
    assert "[access key]" in failure.detail


def test_a_portal_without_flg_settings_records_that(db, settings, customer, type_for_all):
    settings.FLG_API_KEY = ""
    with pytest.raises(errors.FlgNotConfigured):
        services.session_start(customer=customer, appointment_type=type_for_all)
    failure = FlgFailure.objects.get()
    assert (failure.code, failure.status) == ("not_configured", None)
    assert str(failure).startswith("FLG not configured at ")


def test_a_failed_refresh_is_recorded_as_such(flg_ready, customer, type_for_all, settings):
    client = Client()
    client.force_login(customer.user)
    page_url = client.post("/book/initial-consultation/")["Location"]
    flg_ready.fault("503")
    due = timezone.now() + dt.timedelta(seconds=settings.FLG_SANDBOX_SESSION_TTL)
    with time_machine.travel(due):
        answer = client.post(page_url + "refresh/")
    assert answer.status_code == 503
    failure = FlgFailure.objects.get()
    assert (failure.action, failure.code) == (FlgFailure.Action.REFRESH, "unavailable")


def test_a_success_records_no_failure(flg_ready, customer, type_for_all):
    services.session_start(customer=customer, appointment_type=type_for_all)
    assert not FlgFailure.objects.exists()


def test_a_failure_outlives_its_customer_and_type(flg_ready, customer, type_for_homeowners):
    fail_to_start(flg_ready, customer, type_for_homeowners)
    customer.user.delete()
    type_for_homeowners.delete()
    failure = FlgFailure.objects.get()
    assert (failure.customer, failure.appointment_type) == (None, None)


# --- Where staff see them ------------------------------------------------------------------


def test_the_type_list_shows_sessions_and_failures_of_the_last_day(
    flg_ready, customer, type_for_all, type_for_homeowners, staff
):
    services.session_start(customer=customer, appointment_type=type_for_all)
    fail_to_start(flg_ready, customer, type_for_homeowners)
    fail_to_start(flg_ready, customer, type_for_homeowners, "malformed")
    # Older than a day: not counted.
    FlgFailure.objects.create(
        appointment_type=type_for_all,
        code="unavailable",
        customer_message="m",
        detail="d",
        created_at=timezone.now() - dt.timedelta(hours=25),
    )
    page = staff.get(reverse(TYPES_URL))
    rows = {t.name: (t.sessions_24h, t.failures_24h) for t in page.context["cl"].result_list}
    assert rows == {"Initial consultation": (1, 0), "Home survey": (0, 2)}
    text = page.content.decode()
    assert "Sessions (24 h)" in text and "Failures (24 h)" in text
    assert f"?appointment_type__id__exact={type_for_homeowners.pk}" in text


def test_the_type_list_costs_the_same_queries_for_many_types(
    flg_ready, customer, type_for_all, staff, django_assert_max_num_queries
):
    services.session_start(customer=customer, appointment_type=type_for_all)
    url = reverse(TYPES_URL)
    with django_assert_max_num_queries(20) as few:
        staff.get(url)
    for n in range(15):
        extra = AppointmentType.objects.create(flg_id=uuid.uuid4(), name=f"Extra {n}")
        FlgFailure.objects.create(
            appointment_type=extra, code="rejected", customer_message="m", detail="d"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = staff.get(url)
    assert len(page.context["cl"].result_list) == 17


def test_a_types_page_shows_its_recent_failures(flg_ready, customer, type_for_homeowners, staff):
    fail_to_start(flg_ready, customer, type_for_homeowners, "malformed")
    page = staff.get(
        reverse("admin:appointments_appointmenttype_change", args=[type_for_homeowners.pk])
    ).content.decode()
    assert "Recent failures" in page
    assert "Unusable answer from FLG" in page
    assert "the answer is not JSON" in page
    assert "casey@example.com" in page


def test_a_wrong_lead_group_stands_out_on_the_types_page(
    flg_ready, other_customer, type_for_homeowners, staff
):
    flg_ready.mirror()
    with pytest.raises(errors.FlgRejected):
        services.session_start(customer=other_customer, appointment_type=type_for_homeowners)
    page = staff.get(
        reverse("admin:appointments_appointmenttype_change", args=[type_for_homeowners.pk])
    ).content.decode()
    assert "FLG refused the lead or type (400)" in page
    assert "lead&#x27;s group may not match" in page


def test_a_types_page_lists_only_the_last_ten(db, type_for_all, staff):
    for n in range(12):
        FlgFailure.objects.create(
            appointment_type=type_for_all,
            code="unavailable",
            customer_message="m",
            detail=f"failure number {n:02d}",
            created_at=timezone.now() - dt.timedelta(minutes=12 - n),
        )
    page = staff.get(
        reverse("admin:appointments_appointmenttype_change", args=[type_for_all.pk])
    ).content.decode()
    assert "failure number 11" in page and "failure number 02" in page
    assert "failure number 01" not in page
    assert page.index("failure number 11") < page.index("failure number 02")


def test_a_customers_page_shows_their_recent_sessions_and_failures(
    flg_ready, customer, type_for_all, type_for_homeowners, staff
):
    services.session_start(customer=customer, appointment_type=type_for_all)
    fail_to_start(flg_ready, customer, type_for_homeowners, "503")
    page = staff.get(
        reverse("admin:appointments_customer_change", args=[customer.pk])
    ).content.decode()
    assert "Last 10 sessions" in page and "Last 10 failures" in page
    assert "Initial consultation" in page
    assert "FLG unavailable" in page and "Home survey" in page


def test_the_failure_list_filters_and_searches(
    flg_ready, customer, other_customer, type_for_all, type_for_homeowners, staff
):
    fail_to_start(flg_ready, customer, type_for_homeowners, "malformed")
    fail_to_start(flg_ready, other_customer, type_for_all, "503")
    url = reverse(FAILURES_URL)

    def listed(**params):
        return [f.code for f in staff.get(url, params).context["cl"].result_list]

    assert listed() == ["unavailable", "protocol_error"]
    assert listed(code="protocol_error") == ["protocol_error"]
    assert listed(appointment_type__id__exact=type_for_all.pk) == ["unavailable"]
    assert listed(q="lee@example.com") == ["unavailable"]
    assert listed(q="not JSON") == ["protocol_error"]
    today = timezone.localdate()
    assert len(listed(created_at__year=today.year, created_at__month=today.month)) == 2
    page = staff.get(url).content.decode()
    assert "Unusable answer from FLG" in page  # the filter names the codes in words


def test_failures_are_read_only_in_the_admin(flg_ready, customer, type_for_all, staff):
    fail_to_start(flg_ready, customer, type_for_all)
    failure = FlgFailure.objects.get()
    assert staff.get(reverse("admin:appointments_flgfailure_add")).status_code == 403
    change_url = reverse("admin:appointments_flgfailure_change", args=[failure.pk])
    page = staff.get(change_url).content.decode()
    assert "FLG is unavailable (500)" in page
    assert 'name="_save"' not in page
    staff.post(change_url, {"detail": "edited", "code": "rejected"})
    failure.refresh_from_db()
    assert failure.code == "unavailable"
