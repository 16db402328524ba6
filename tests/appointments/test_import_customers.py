"""Importing customers from CSV: `manage.py import_customers` and the same import in the admin."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from appointments.models import Customer, LeadGroup
from tests.conftest import staff_sign_in

HEADER = "email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"
GOOD = (
    HEADER
    + "ann@example.com,Ann,Archer,111,101,Homeowners\n"
    + "bob@example.com,Bob,Baker,112,103,Tenants\n"
    + "cat@example.com,Cat,Cole,113,101,\n"
)
IMPORT_URL = "admin:appointments_customer_import"


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


def nothing_written():
    return not Customer.objects.exists() and not LeadGroup.objects.exists()


# --- The command ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_good_file_creates_customers_accounts_and_groups(tmp_path):
    out, _ = run_import(write(tmp_path, GOOD))
    assert "3 created, 0 updated, 0 unchanged, 2 lead group(s) created" in out
    ann = Customer.objects.select_related("user", "lead_group").get(lead_id="111")
    assert ann.user.email == "ann@example.com" and ann.user.username == "ann@example.com"
    assert (ann.user.first_name, ann.user.last_name) == ("Ann", "Archer")
    assert ann.lead_group.name == "Homeowners"
    assert not ann.user.has_usable_password()
    assert set(LeadGroup.objects.values_list("flg_id", "name")) == {
        (101, "Homeowners"),
        (103, "Tenants"),
    }
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_second_run_changes_nothing(tmp_path):
    path = write(tmp_path, GOOD)
    run_import(path)
    out, _ = run_import(path)
    assert "0 created, 0 updated, 3 unchanged, 0 lead group(s) created" in out
    assert Customer.objects.count() == 3


@pytest.mark.django_db
def test_a_row_updates_the_customer_with_that_email_in_any_case(tmp_path, customer, landlords):
    out, _ = run_import(
        write(tmp_path, HEADER + "CASEY@Example.com,Casey,Newname,108123999,102,\n")
    )
    assert "0 created, 1 updated" in out
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.user.last_name == "Newname"
    assert (customer.lead_id, customer.lead_group) == ("108123999", landlords)
    assert get_user_model().objects.count() == 1
    # The customer's own password still works.
    assert customer.user.has_usable_password()


@pytest.mark.django_db
def test_an_account_without_a_customer_record_is_linked(tmp_path, homeowners):
    user = get_user_model().objects.create_user("dee@example.com", "Dee@example.com", "pw")
    out, _ = run_import(write(tmp_path, HEADER + "dee@example.com,Dee,Dent,300,101,\n"))
    assert "0 created, 1 updated" in out
    assert Customer.objects.get().user == user


@pytest.mark.django_db
def test_a_bom_crlf_excel_file_is_read(tmp_path):
    text = "\ufeff" + GOOD.replace("\n", "\r\n")
    out, _ = run_import(write(tmp_path, text))
    assert "3 created" in out
    assert Customer.objects.get(lead_id="111").user.email == "ann@example.com"


@pytest.mark.django_db
def test_semicolons_as_excel_writes_them_in_some_countries_are_read(tmp_path):
    out, _ = run_import(write(tmp_path, GOOD.replace(",", ";")))
    assert "3 created" in out


@pytest.mark.django_db
def test_header_names_in_any_case_with_spaces_and_quoted_values_are_read(tmp_path):
    text = (
        " Email ,First Name,LAST_NAME,Lead ID,lead-group-id,Lead Group Name\r\n"
        '"ann@example.com","Ann, Jr","O\'Neill",111,101,"Home, owners"\r\n'
        "\r\n"
    )
    out, _ = run_import(write(tmp_path, text))
    assert "1 created" in out
    ann = Customer.objects.select_related("user", "lead_group").get()
    assert ann.user.first_name == "Ann, Jr"
    assert ann.lead_group.name == "Home, owners"


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(tmp_path):
    out, _ = run_import(write(tmp_path, GOOD), "--dry-run", "--send-invites")
    assert "nothing written: 3 to create, 0 to update, 0 unchanged" in out
    assert "3 invitation(s) would be sent" in out
    assert nothing_written()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("not-an-email,A,B,200,101,Homeowners", "'not-an-email' is not an email address"),
        (",A,B,200,101,Homeowners", "email is empty"),
        ("x@example.com,A,B,20a,101,Homeowners", "lead id '20a' must be digits only"),
        ("x@example.com,A,B,\uff12\uff10\uff10,101,", "must be digits only"),  # full-width
        ("x@example.com,A,B,,101,Homeowners", "lead_id is empty"),
        ("x@example.com,A,B,1" + "0" * 20 + ",101,", "the lead id is longer than 20"),
        ("x@example.com,A,B,200,999,", "lead group 999 does not exist"),
        ("x@example.com,A,B,200,abc,", "lead group id 'abc' must be a whole number"),
        ("x@example.com,A,B,200,99999999999,G", "must be a whole number"),
        ("x@example.com,A,B,200,,", "lead_group_id is empty"),
        ("x@example.com,A,B,200,101,Homeowners,extra", "7 values but 6 columns"),
        ("x@example.com,A,B,200,101,Homeowners,,", None),
        ("x@example.com,A,B", "lead_id is empty; lead_group_id is empty"),
        ("ANN@example.com,A,B,200,101,", "ANN@example.com is also on line 2"),
        ("dup@example.com,A,B,111,101,", "lead id 111 is also on line 2"),
        ("x@example.com,A,B,200,103,Landlords", None),
        ("x@example.com,A,B,200,101,Other name", "lead group 101 is named 'Homeowners'"),
        ("x" * 140 + "@example.com,A,B,200,101,", "the email is longer than 150"),
        ("x@example.com," + "A" * 151 + ",B,200,101,", "first_name is longer than 150"),
    ],
)
@pytest.mark.django_db
def test_any_bad_row_writes_nothing_and_names_its_line(tmp_path, row, words):
    text = HEADER + "ann@example.com,Ann,Archer,111,101,Homeowners\n" + row + "\n"
    if words is None:
        # Controls: trailing empty cells, and a second new group, are fine.
        out, _ = run_import(write(tmp_path, text))
        assert "2 created" in out
        return
    errors = refused(write(tmp_path, text))
    assert errors.startswith("Line 3: ") and words in errors
    assert "Line 2" not in errors
    assert nothing_written()


@pytest.mark.django_db
def test_every_bad_row_is_reported_with_its_line(tmp_path):
    text = (
        HEADER
        + "a,,,1,101,G\n"
        + "good@example.com,G,Ood,5,101,G\n"
        + "b@example.com,,,x,101,G\n"
        + "\n"
        + "c@example.com,,,3,7,\n"
    )
    errors = refused(write(tmp_path, text))
    assert [line.split(":")[0] for line in errors.strip().splitlines()] == [
        "Line 2",
        "Line 4",
        "Line 6",
    ]
    assert nothing_written()


@pytest.mark.django_db
def test_a_row_is_reported_by_the_line_it_starts_on(tmp_path):
    text = HEADER + '"ann@example.com","Ann\nMarie",Archer,111,101,G\nbad,B,B,112,101,G\n'
    errors = refused(write(tmp_path, text))
    assert errors.startswith("Line 4: 'bad' is not an email address")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("email,first_name,last_name,lead_id\na@example.com,A,B,1\n", "lead_group_id"),
        ("email;first_name\na@example.com;A\n", "last_name, lead_id, lead_group_id"),
        ("", "The file is empty"),
        (HEADER, "no customers"),
        (HEADER.replace("last_name", "email"), "email appear twice"),
    ],
)
@pytest.mark.django_db
def test_a_file_without_the_columns_or_rows_is_refused(tmp_path, text, words):
    errors = refused(write(tmp_path, text))
    assert words in errors


@pytest.mark.django_db
def test_a_missing_column_names_line_1_and_the_columns_expected(tmp_path):
    errors = refused(write(tmp_path, "email,first_name,last_name,lead_id\na@example.com,A,B,1\n"))
    assert errors.startswith("Line 1: missing column(s): lead_group_id.")


@pytest.mark.django_db
def test_a_lead_id_linked_to_another_email_is_refused(tmp_path, customer, homeowners):
    errors = refused(write(tmp_path, HEADER + "new@example.com,N,E,108123759,101,\n"))
    assert "Line 2: lead id 108123759 is already linked to casey@example.com" in errors
    assert Customer.objects.get() == customer
    assert not get_user_model().objects.filter(email="new@example.com").exists()


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
def test_a_file_that_cannot_be_read_says_so(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_customers", str(tmp_path / "nope.csv"), stdout=io.StringIO())


# --- The same import from the admin -----------------------------------------------------


def upload(client, text, **extra):
    data = {"file": io.BytesIO(text.encode()), **extra}
    data["file"].name = "customers.csv"
    return client.post(reverse(IMPORT_URL), data)


def payload_of(page: str) -> str:
    found = re.search(r'name="payload" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_the_customer_list_offers_the_import(staff):
    listing = staff.get(reverse("admin:appointments_customer_changelist")).content.decode()
    assert "Import customers from CSV" in listing
    form = staff.get(reverse(IMPORT_URL)).content.decode()
    assert 'type="file"' in form and "send_invites" in form


def test_the_admin_import_previews_then_writes_on_confirm(staff, customer, homeowners):
    text = GOOD + "casey@example.com,Casey,Changed,108123759,101,\n"
    page = upload(staff, text).content.decode()
    assert "Preview: 3 to create, 1 to update, 0 unchanged" in page
    assert "Nothing has been written yet" in page
    assert "Tenants (103)" in page
    assert Customer.objects.count() == 1
    done = staff.post(reverse(IMPORT_URL), {"payload": payload_of(page)}, follow=True)
    assert "Imported: 3 created, 1 updated, 0 unchanged, 1 lead group(s) created." in (
        done.content.decode()
    )
    assert done.redirect_chain[-1][0] == reverse("admin:appointments_customer_changelist")
    assert Customer.objects.count() == 4
    assert mail.outbox == []


def test_a_preview_of_a_file_already_imported_says_unchanged(staff, tmp_path):
    run_import(write(tmp_path, GOOD))
    page = upload(staff, GOOD).content.decode()
    assert "Preview: 0 to create, 0 to update, 3 unchanged" in page
    assert page.count("<td>Unchanged</td>") == 3


def test_the_admin_import_lists_every_error_and_writes_nothing(staff):
    page = upload(staff, HEADER + "bad,,,1,101,G\nok@example.com,,,x,101,G\n").content.decode()
    assert "The file has 2 problems" in page
    assert "Line 2: &#x27;bad&#x27; is not an email address" in page
    assert "Line 3: lead id &#x27;x&#x27; must be digits only" in page
    assert "Confirm import" not in page
    assert nothing_written()


def test_a_file_over_2_mb_is_refused_before_reading(staff):
    page = upload(staff, HEADER + "x" * (2 * 1024 * 1024)).content.decode()
    assert "over 2 MB" in page
    assert "Confirm import" not in page


def test_a_tampered_preview_is_refused(staff):
    page = upload(staff, GOOD).content.decode()
    payload = payload_of(page)
    forged = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    response = staff.post(reverse(IMPORT_URL), {"payload": forged}, follow=True)
    assert "That preview has expired" in response.content.decode()
    assert nothing_written()


def test_a_confirm_rechecks_the_file_against_what_changed_since(staff, tmp_path):
    page = upload(staff, GOOD).content.decode()
    # Someone takes lead id 111 between the preview and the confirm.
    run_import(write(tmp_path, HEADER + "zed@example.com,Zed,Z,111,101,Homeowners\n"))
    response = staff.post(reverse(IMPORT_URL), {"payload": payload_of(page)}, follow=True)
    assert "lead id 111 is already linked to zed@example.com" in response.content.decode()
    assert Customer.objects.count() == 1


def test_staff_who_may_not_add_customers_cannot_import(db):
    user = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_customer", "change_customer"])
    )
    client = Client()
    staff_sign_in(client, user)
    listing = client.get(reverse("admin:appointments_customer_changelist")).content.decode()
    assert "Import customers from CSV" not in listing
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert upload(client, GOOD).status_code == 403
    assert not Customer.objects.exists()
