"""The CSV import at scale: set-based lookups and bulk writes, with the same outcome row by row,
and still all or nothing when the database refuses a row."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from appointments import importing
from appointments.models import Customer, LeadGroup
from tests.appointments.test_import_customers import (
    HEADER,
    IMPORT_URL,
    payload_of,
    refused,
    run_import,
    upload,
    write,
)
from tests.conftest import make_customer

pytestmark = pytest.mark.django_db

MIXED = (
    HEADER
    + "ann@example.com,Ann,Archer,111,101,\n"  # new
    + "CASEY@example.com,Casey,Changed,108123759,102,\n"  # changes name and group
    + "lee@example.com,Casey,,108123760,102,\n"  # as it is
    + "dee@example.com,Dee,Dent,300,103,Tenants\n"  # an account without a customer record
)
CONFLICTING = "new@example.com,N,E,999,101,\n"  # zed's lead id


@pytest.fixture
def dee(db):
    return get_user_model().objects.create_user("dee@example.com", "Dee@example.com", "pw")


def state():
    """Every customer as the import leaves it: email, names, lead id, group, usable password."""
    return sorted(
        (
            c.user.email,
            c.user.username,
            c.user.first_name,
            c.user.last_name,
            c.lead_id,
            c.lead_group.flg_id,
            c.user.has_usable_password(),
        )
        for c in Customer.objects.select_related("user", "lead_group")
    )


def test_a_mixed_file_creates_updates_links_and_leaves_alone(
    tmp_path, customer, other_customer, dee
):
    plan = importing.customers_import_plan(data=MIXED.encode())
    assert plan.summary == "1 to create, 2 to update, 1 unchanged"
    assert [row.action for row in plan.rows] == ["create", "update", "unchanged", "update"]
    assert plan.new_groups == {103: "Tenants"}

    out, _ = run_import(write(tmp_path, MIXED))
    assert "1 created, 2 updated, 1 unchanged, 1 lead group(s) created" in out
    assert state() == [
        ("Dee@example.com", "dee@example.com", "Dee", "Dent", "300", 103, True),
        ("ann@example.com", "ann@example.com", "Ann", "Archer", "111", 101, False),
        ("casey@example.com", "casey@example.com", "Casey", "Changed", "108123759", 102, True),
        ("lee@example.com", "lee@example.com", "Casey", "", "108123760", 102, True),
    ]
    assert get_user_model().objects.count() == 4


def test_a_mixed_file_with_one_conflicting_row_names_that_row_and_writes_nothing(
    tmp_path, customer, other_customer, dee
):
    make_customer("zed@example.com", "999", customer.lead_group)
    before = state()
    errors = refused(write(tmp_path, MIXED + CONFLICTING))
    assert errors.strip() == "Line 6: lead id 999 is already linked to zed@example.com"
    assert state() == before
    assert not LeadGroup.objects.filter(flg_id=103).exists()
    assert not get_user_model().objects.filter(email="ann@example.com").exists()


# SQLite's INSERTs hold 999 parameters, so each column of Customer costs rows per INSERT: 5,200
# customers of 7 columns take 37 INSERTs. Still a bound that does not grow with the rows.
QUERIES = 110


def test_thousands_of_rows_take_a_few_dozen_queries_whatever_their_number(
    django_assert_max_num_queries, homeowners
):
    # More rows than one chunk of lookups (5,000), so the chunks' seams are crossed. SQLite
    # takes fewer rows per INSERT than PostgreSQL (a limit on parameters): 70-odd queries,
    # two dozen on PostgreSQL, where one a row would be thousands.
    rows = "".join(f"c{n}@example.com,C,{n},{700000 + n},101,\n" for n in range(5200))
    data = (HEADER + rows).encode()
    with django_assert_max_num_queries(QUERIES):
        result = importing.customers_import_apply(data=data)
    assert len(result.created) == 5200
    assert Customer.objects.count() == 5200
    assert Customer.objects.get(lead_id="705199").user.email == "c5199@example.com"

    changed = data.replace(b",C,5199,", b",Changed,5199,")
    with django_assert_max_num_queries(QUERIES):
        plan = importing.customers_import_plan(data=changed)
    assert plan.summary == "0 to create, 1 to update, 5199 unchanged"
    with django_assert_max_num_queries(QUERIES):
        result = importing.customers_import_apply(data=changed)
    assert (len(result.created), result.updated, result.unchanged) == (0, 1, 5199)
    assert Customer.objects.get(lead_id="705199").user.first_name == "Changed"


def refuse_inserting_lead(lead_id: str) -> None:
    """A database trigger refusing one customer row, as a constraint would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_lead() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.lead_id = '{lead_id}' THEN RAISE unique_violation USING "
                "MESSAGE = 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_lead BEFORE INSERT ON appointments_customer "
                "FOR EACH ROW EXECUTE FUNCTION refuse_lead()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_lead BEFORE INSERT ON appointments_customer "
                f"WHEN NEW.lead_id = '{lead_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )


def test_a_row_the_database_refuses_rolls_back_every_row(tmp_path, customer, other_customer, dee):
    before = state()
    refuse_inserting_lead("300")  # the last row written
    errors = refused(write(tmp_path, MIXED))
    assert "The database refused the import" in errors
    assert state() == before
    assert not get_user_model().objects.filter(email="ann@example.com").exists()
    assert not LeadGroup.objects.filter(flg_id=103).exists()
    assert get_user_model().objects.get(username="casey@example.com").last_name == ""


def test_the_admin_confirm_says_so_when_the_database_refuses_a_row(staff, homeowners):
    text = HEADER + "ann@example.com,Ann,Archer,111,101,\nbob@example.com,Bob,B,112,101,\n"
    page = upload(staff, text).content.decode()
    refuse_inserting_lead("112")
    response = staff.post(reverse(IMPORT_URL), {"payload": payload_of(page)}, follow=True)
    assert response.status_code == 200
    assert "The database refused the import" in response.content.decode()
    assert not Customer.objects.exists()
    assert not get_user_model().objects.filter(email="ann@example.com").exists()


def test_the_lower_cased_email_index_is_the_last_guard(tmp_path, homeowners):
    # PostgreSQL's LOWER() folds É into é for the unique index; sign-in folds A-Z only, so the
    # plan takes Émile for a new address and the index refuses it, with every other row.
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's LOWER() folds A-Z only, as sign-in does: no such pair exists")
    get_user_model().objects.create_user("emile", "emile@\u00e9cole.fr", "pw")
    text = HEADER + "ann@example.com,Ann,A,111,101,\nemile@\u00c9cole.fr,E,M,112,101,\n"
    errors = refused(write(tmp_path, text))
    assert "The database refused the import" in errors
    assert not Customer.objects.exists()


def test_a_lead_group_name_longer_than_the_model_takes_is_refused(tmp_path):
    limit = LeadGroup._meta.get_field("name").max_length
    errors = refused(write(tmp_path, HEADER + f"a@example.com,A,B,1,5,{'G' * (limit + 1)}\n"))
    assert errors.startswith(f"Line 2: lead_group_name is longer than {limit} characters")


def test_a_preview_of_thousands_lists_the_first_rows_and_counts_them_all(staff, homeowners):
    rows = "".join(f"c{n}@example.com,C,{n},{700000 + n},101,\n" for n in range(1200))
    page = upload(staff, HEADER + rows).content.decode()
    assert "Preview: 1200 to create, 0 to update, 0 unchanged" in page
    assert page.count("<td>Create</td>") == 500
    assert "The first 500 of 1200 rows are shown" in page
    assert "Confirm import" in page
