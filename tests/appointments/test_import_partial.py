"""The import's template to start from, and "import the good rows": the bad ones left out and
offered back as a CSV, with the problem on each row, for a second pass. All or nothing stays
the default."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from appointments import import_file, importing
from appointments.models import Customer, LeadGroup
from tests.appointments.test_import_customers import (
    HEADER,
    IMPORT_URL,
    payload_of,
    run_import,
    upload,
    write,
)

MIXED = (
    HEADER
    + "ann@example.com,Ann,Archer,111,101,Homeowners\n"
    + "not-an-address,Bob,Baker,112,101,\n"
    + "cat@example.com,Cat,Cole,113,101,\n"
    + "dan@example.com,Dan,Dale,11x,104,Movers\n"
)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def refused_payload(page: str) -> str:
    found = re.search(r'name="refused" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_the_template_has_the_columns_the_import_expects_and_an_example_that_imports(staff, db):
    response = staff.get(reverse("admin:appointments_customer_import_template"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="customers-template.csv"' in response["Content-Disposition"]
    text = response.content.decode()
    (example,) = rows_of(text)
    assert list(example) == [*import_file.REQUIRED_COLUMNS, *import_file.OPTIONAL_COLUMNS]
    plan = importing.customers_import_plan(data=text.encode())
    assert plan.summary == "1 to create, 0 to update, 0 unchanged"
    page = staff.get(reverse(IMPORT_URL)).content.decode()
    assert reverse("admin:appointments_customer_import_template") in page


def test_by_default_one_bad_row_still_stops_the_whole_file(staff):
    page = upload(staff, MIXED).content.decode()
    assert "Nothing was imported" in page
    assert 'tick "Import the good rows and list the bad ones"' in page
    assert not Customer.objects.exists()


def test_the_good_rows_are_imported_and_the_bad_ones_offered_back_with_their_problem(staff):
    page = upload(staff, MIXED, partial="on").content.decode()
    assert "Preview: 2 to create, 0 to update, 0 unchanged" in page
    assert "To be left out: 2 rows with a problem" in page
    assert not Customer.objects.exists()

    done = staff.post(reverse(IMPORT_URL), {"payload": payload_of(page)}).content.decode()

    assert "Imported: 2 created, 0 updated, 0 unchanged, 1 lead group(s) created." in done
    assert "Left out: 2 rows with a problem" in done
    assert set(Customer.objects.values_list("lead_id", flat=True)) == {"111", "113"}
    # Dan's row was refused: the lead group only it named is not created.
    assert set(LeadGroup.objects.values_list("flg_id", flat=True)) == {101}

    download = staff.post(
        reverse("admin:appointments_customer_import_refused"), {"refused": refused_payload(done)}
    )
    assert 'filename="customers-refused.csv"' in download["Content-Disposition"]
    assert "no-store" in download["Cache-Control"]
    bob, dan = rows_of(download.content.decode())
    assert (bob["email"], bob["line"]) == ("not-an-address", "3")
    assert "is not an email address" in bob["problem"]
    assert (dan["lead_id"], dan["lead_group_name"], dan["line"]) == ("11x", "Movers", "5")
    assert "must be digits only" in dan["problem"]


def test_the_refused_rows_fixed_import_on_a_second_pass(staff, db):
    first = importing.customers_import_apply(data=MIXED.encode(), partial=True)
    refused = import_file.refused_csv(
        header=import_file.REQUIRED_COLUMNS + import_file.OPTIONAL_COLUMNS, rows=first.refused
    )
    fixed = refused.replace("not-an-address", "bob@example.com").replace("11x", "114")

    second = importing.customers_import_apply(data=fixed.encode(), partial=True)

    assert (len(second.created), second.refused) == (2, [])
    assert Customer.objects.count() == 4
    assert Customer.objects.get(lead_id="114").lead_group.name == "Movers"


def test_a_partial_import_of_only_bad_rows_is_refused(db):
    with pytest.raises(importing.ImportRefused):
        importing.customers_import_apply(data=(HEADER + "bad,,,1,101,G\n").encode(), partial=True)
    assert not LeadGroup.objects.exists()


def test_the_refused_list_cannot_be_forged_or_fetched_by_get(staff):
    url = reverse("admin:appointments_customer_import_refused")
    assert staff.get(url).status_code == 403
    forged = staff.post(url, {"refused": "email\nx@example.com\n"}, follow=True)
    assert "That list has expired" in forged.content.decode()


def test_the_command_writes_the_refused_rows_beside_the_import(tmp_path, db):
    out_path = tmp_path / "refused.csv"
    out, _ = run_import(write(tmp_path, MIXED), "--refused", str(out_path))
    assert "Imported: 2 created" in out
    assert "Left out: 2 row(s) with a problem, written with the problem on each row to " in out
    assert [row["line"] for row in rows_of(out_path.read_text())] == ["3", "5"]
