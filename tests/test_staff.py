"""Staff operations: importing customers, invitations, failure records and FLG checks in admin."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from appointments import flg, services
from appointments.models import AppointmentType, Customer, FlgFailure, LeadGroup

HEADER = "email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"


def write(tmp_path, text, *, encoding="utf-8", name="customers.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def run_import(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_customers", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path, *args):
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_customers", path, *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


GOOD = (
    HEADER
    + "ann@example.com,Ann,Archer,111,101,Homeowners\n"
    + "bob@example.com,Bob,Baker,112,103,Tenants\n"
    + "cat@example.com,Cat,Cole,113,101,\n"
)


@pytest.mark.django_db
def test_a_good_file_creates_customers_accounts_and_groups(tmp_path):
    out, _ = run_import(write(tmp_path, GOOD))
    assert "3 created, 0 updated, 0 unchanged, 2 lead group(s) created" in out
    ann = Customer.objects.select_related("user", "lead_group").get(lead_id="111")
    assert ann.user.email == "ann@example.com" and ann.user.first_name == "Ann"
    assert ann.lead_group.name == "Homeowners"
    assert not ann.user.has_usable_password()
    assert set(LeadGroup.objects.values_list("flg_id", flat=True)) == {101, 103}


@pytest.mark.django_db
def test_a_second_run_changes_nothing(tmp_path):
    path = write(tmp_path, GOOD)
    run_import(path)
    out, _ = run_import(path)
    assert "0 created, 0 updated, 3 unchanged" in out
    assert Customer.objects.count() == 3


@pytest.mark.django_db
def test_a_row_updates_the_customer_with_that_email_in_any_case(tmp_path, customer, homeowners):
    out, _ = run_import(
        write(tmp_path, HEADER + "CASEY@Example.com,Casey,Newname,108123759,101,\n")
    )
    assert "0 created, 1 updated" in out
    customer.user.refresh_from_db()
    assert customer.user.last_name == "Newname"
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_a_bom_crlf_excel_file_is_read(tmp_path):
    text = "\ufeff" + GOOD.replace("\n", "\r\n")
    out, _ = run_import(write(tmp_path, text))
    assert "3 created" in out


@pytest.mark.django_db
def test_semicolons_as_excel_writes_them_in_some_countries_are_read(tmp_path):
    out, _ = run_import(write(tmp_path, GOOD.replace(",", ";")))
    assert "3 created" in out


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(tmp_path):
    out, _ = run_import(write(tmp_path, GOOD), "--dry-run")
    assert "nothing written: 3 to create" in out
    assert not Customer.objects.exists() and not LeadGroup.objects.exists()


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("not-an-email,A,B,200,101,Homeowners", "is not an email address"),
        ("x@example.com,A,B,20a,101,Homeowners", "must be digits only"),
        ("x@example.com,A,B,,101,Homeowners", "lead_id is empty"),
        ("x@example.com,A,B,200,999,", "lead group 999 does not exist"),
        ("x@example.com,A,B,200,abc,", "must be a whole number"),
        ("ANN@example.com,A,B,200,101,", "is also on line 2"),
        ("dup@example.com,A,B,111,101,", "lead id 111 is also on line 2"),
    ],
)
@pytest.mark.django_db
def test_any_bad_row_writes_nothing_and_names_its_line(tmp_path, row, words):
    text = HEADER + "ann@example.com,Ann,Archer,111,101,Homeowners\n" + row + "\n"
    errors = refused(write(tmp_path, text))
    assert "Line 3: " in errors and words in errors
    assert not Customer.objects.exists() and not LeadGroup.objects.exists()


@pytest.mark.django_db
def test_every_bad_row_is_reported(tmp_path):
    text = HEADER + "a,,,1,101,G\nb@example.com,,,x,101,G\nc@example.com,,,3,7,\n"
    errors = refused(write(tmp_path, text))
    assert [line.split(":")[0] for line in errors.strip().splitlines()] == [
        "Line 2",
        "Line 3",
        "Line 4",
    ]


@pytest.mark.django_db
def test_a_missing_column_is_refused(tmp_path):
    errors = refused(write(tmp_path, "email,first_name,last_name,lead_id\na@example.com,A,B,1\n"))
    assert "missing column(s): lead_group_id" in errors


@pytest.mark.django_db
def test_a_lead_id_linked_to_another_email_is_refused(tmp_path, customer, homeowners):
    errors = refused(write(tmp_path, HEADER + "new@example.com,N,E,108123759,101,\n"))
    assert "already linked to casey@example.com" in errors
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_an_email_taken_as_another_accounts_user_name_is_refused(tmp_path):
    get_user_model().objects.create_user("ann@example.com", "someone.else@example.com", "pw")
    errors = refused(write(tmp_path, GOOD))
    assert "Line 2: another account already has the user name ann@example.com" in errors
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_gets_advice(tmp_path):
    errors = refused(write(tmp_path, GOOD.replace("Ann", "Zoë"), encoding="utf-16"))
    assert "CSV UTF-8" in errors


@pytest.mark.django_db
def test_invites_link_to_a_page_that_sets_a_password_and_signs_in(tmp_path, settings, client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"
    out, _ = run_import(write(tmp_path, GOOD), "--send-invites")
    assert "Invitations sent: 3." in out
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    ]
    message = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    assert "Acme Bookings" in message.subject
    link = re.search(r"https://book\.example\.com(/accounts/invite/\S+/)", message.body).group(1)
    page = client.get(link, follow=True)
    assert "Welcome: choose a password" in page.content.decode()
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "ann-chooses-a-phrase-9", "new_password2": "ann-chooses-a-phrase-9"},
        follow=True,
    )
    assert done.context["user"].email == "ann@example.com"
    assert "Book an appointment" in done.content.decode()
    # The link works once.
    again = client.get(link, follow=True)
    assert "This invitation link has expired" in again.content.decode()


@pytest.mark.django_db
def test_a_rerun_invites_nobody_again(tmp_path, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    path = write(tmp_path, GOOD)
    run_import(path, "--send-invites")
    mail.outbox.clear()
    run_import(path, "--send-invites")
    assert mail.outbox == []


# --- The same import from the admin -----------------------------------------------------


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client = Client()
    client.force_login(user)
    return client


def upload(staff, text, **extra):
    data = {"file": io.BytesIO(text.encode()), **extra}
    data["file"].name = "customers.csv"
    return staff.post(reverse("admin:appointments_customer_import"), data)


def test_the_admin_import_previews_then_writes_on_confirm(staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    listing = staff.get(reverse("admin:appointments_customer_changelist")).content.decode()
    assert "Import customers from CSV" in listing
    preview = upload(staff, GOOD, send_invites="on")
    page = preview.content.decode()
    assert "Preview: 3 to create, 0 to update, 0 unchanged" in page
    assert not Customer.objects.exists()
    payload = re.search(r'name="payload" value="([^"]+)"', page).group(1)
    done = staff.post(
        reverse("admin:appointments_customer_import"), {"payload": payload}, follow=True
    )
    assert "Imported: 3 created" in done.content.decode()
    assert "3 invitation(s) sent" in done.content.decode()
    assert Customer.objects.count() == 3
    assert len(mail.outbox) == 3


def test_the_admin_import_lists_every_error_and_writes_nothing(staff):
    page = upload(staff, HEADER + "bad,,,1,101,G\nok@example.com,,,x,101,G\n").content.decode()
    assert "The file has 2 problems" in page
    assert "Line 2:" in page and "Line 3:" in page
    assert "Confirm import" not in page
    assert not Customer.objects.exists()


def test_a_tampered_preview_is_refused(staff):
    response = staff.post(
        reverse("admin:appointments_customer_import"), {"payload": "forged"}, follow=True
    )
    assert "That preview has expired" in response.content.decode()
    assert not Customer.objects.exists()


# --- Failure records ------------------------------------------------------------------------


@pytest.fixture
def flg_ready(sandbox, customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    return sandbox


@pytest.mark.parametrize(
    ("problem", "code", "status"),
    [
        ("unknown type", "rejected", 400),
        ("wrong key", "key_invalid", 401),
        ("no permission", "key_forbidden", 403),
        ("503", "unavailable", 503),
        ("malformed", "protocol_error", 200),
    ],
)
def test_each_failure_is_stored_with_its_fields_and_without_the_key(
    flg_ready, customer, type_for_all, settings, problem, code, status
):
    from flg_sandbox.models import AppointmentType as SandboxType

    if problem == "unknown type":
        SandboxType.objects.all().delete()
    elif problem == "wrong key":
        settings.FLG_API_KEY = "wrong-key-value"
    elif problem == "no permission":
        settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    else:
        flg_ready.fault(problem)
    client = Client()
    client.force_login(customer.user)
    client.post("/book/initial-consultation/")
    failure = FlgFailure.objects.get()
    assert (failure.code, failure.status) == (code, status)
    assert failure.customer == customer
    assert failure.appointment_type == type_for_all
    assert failure.action == "start"
    assert failure.customer_message and failure.detail
    for value in (failure.detail, failure.customer_message):
        assert settings.FLG_API_KEY not in value


def test_the_type_list_shows_sessions_and_failures_of_the_last_day(
    flg_ready, customer, type_for_all, type_for_homeowners, staff, django_assert_max_num_queries
):
    services.session_start(customer=customer, appointment_type=type_for_all)
    flg_ready.fault("500")
    with pytest.raises(flg.FlgError):
        services.session_start(customer=customer, appointment_type=type_for_homeowners)
    url = reverse("admin:appointments_appointmenttype_changelist")
    page = staff.get(url)
    rows = {t.name: (t.sessions_24h, t.failures_24h) for t in page.context["cl"].result_list}
    assert rows == {"Initial consultation": (1, 0), "Home survey": (0, 1)}
    with django_assert_max_num_queries(20) as few:
        staff.get(url)
    for n in range(15):
        AppointmentType.objects.create(flg_id=uuid.uuid4(), name=f"Extra {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff.get(url)


def test_a_types_page_and_a_customers_page_show_recent_history(
    flg_ready, customer, type_for_all, type_for_homeowners, staff
):
    services.session_start(customer=customer, appointment_type=type_for_all)
    flg_ready.fault("malformed")
    with pytest.raises(flg.FlgError):
        services.session_start(customer=customer, appointment_type=type_for_homeowners)
    type_page = staff.get(
        reverse("admin:appointments_appointmenttype_change", args=[type_for_homeowners.pk])
    ).content.decode()
    assert "Unusable answer from FLG" in type_page
    customer_page = staff.get(
        reverse("admin:appointments_customer_change", args=[customer.pk])
    ).content.decode()
    assert "Initial consultation" in customer_page
    assert "Unusable answer from FLG" in customer_page
    failures = staff.get(
        reverse("admin:appointments_flgfailure_changelist"), {"code": "protocol_error"}
    )
    assert len(failures.context["cl"].result_list) == 1


# --- Admin actions against the sandbox ------------------------------------------------------


def check_flg(staff):
    response = staff.post(reverse("admin:appointments_appointmenttype_check_flg"), follow=True)
    return [str(m) for m in response.context["messages"]]


def test_check_flg_connection_succeeds_against_a_healthy_flg(flg_ready, staff):
    [message] = check_flg(staff)
    assert message.startswith("FLG connection works")


@pytest.mark.parametrize("mode", ["503", "hang", "malformed", "html", "429", "500"])
def test_check_flg_connection_reports_each_fault(flg_ready, staff, settings, mode):
    settings.FLG_TIMEOUT = 2
    flg_ready.fault(mode, hang_seconds=4)
    [message] = check_flg(staff)
    assert message.startswith("FLG connection does not work")


def test_check_flg_connection_reports_a_wrong_key(flg_ready, staff, settings):
    settings.FLG_API_KEY = "wrong"
    [message] = check_flg(staff)
    assert "invalid" in message and "wrong" not in message.replace("wrong key", "")


def verify(staff, types, customer_ref):
    url = reverse("admin:appointments_appointmenttype_changelist")
    data = {"action": "verify_with_flg", "_selected_action": [t.pk for t in types]}
    first = staff.post(url, data)
    assert "will <strong>create a real appointment session</strong>" in first.content.decode()
    response = staff.post(url, {**data, "confirm": "1", "customer": customer_ref}, follow=True)
    return [str(m) for m in response.context["messages"]]


def test_verify_creates_a_session_per_type_for_the_chosen_customer(
    flg_ready, staff, customer, type_for_all, type_for_homeowners
):
    messages = verify(staff, [type_for_all, type_for_homeowners], "Casey@example.com")
    assert sorted(m.split(":")[0] for m in messages) == ["Home survey", "Initial consultation"]
    assert all("OK." in m for m in messages)
    assert flg_ready.calls() == 2


@pytest.mark.parametrize("mode", ["503", "malformed", "html"])
def test_verify_reports_and_records_a_failure(flg_ready, staff, customer, type_for_all, mode):
    flg_ready.fault(mode)
    [message] = verify(staff, [type_for_all], customer.lead_id)
    assert "FLG refused it" in message
    assert FlgFailure.objects.get().action == "verify"


def test_verify_shows_a_wrong_lead_group(flg_ready, staff, other_customer, type_for_homeowners):
    flg_ready.mirror()
    [message] = verify(staff, [type_for_homeowners], other_customer.lead_id)
    assert "lead group" in message
