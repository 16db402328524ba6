"""A staff account is never a customer: every way of linking one is refused, in plain words.

The attack it closes (issue 18, item 2): the CSV import linked a staff account to a lead, a
lead webhook delivery then changed that account's email to the attacker's, and the public
password reset mailed the attacker the admin.
"""

from __future__ import annotations

import io

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from appointments import demo
from appointments.models import Customer, LeadDelivery
from tests.conftest import make_customer
from tests.flg.test_webhooks import FLG_LEAD

User = get_user_model()
TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-staff"
HEADER = "email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"
STAFF_PASSWORD = "the-admins-own-passphrase-1"
ATTACKER = "mallory@attacker.example"


@pytest.fixture
def ops(db):
    """A superuser signing in with ops@example.com, as create_staff makes one."""
    return User.objects.create_superuser("ops@example.com", "ops@example.com", STAFF_PASSWORD)


@pytest.fixture
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"


@pytest.fixture
def post_lead(live_server, settings, _mail):
    """FLG's documented lead posted to the portal's webhook over HTTP, with fields changed."""
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]

    def post(**changes: str) -> requests.Response:
        url = f"{live_server.url}/flg/webhooks/leads/{TOKEN}/"
        return requests.post(url, data={**FLG_LEAD, **changes}, timeout=10)

    return post


def linked_to(user) -> Customer:
    """A customer record on a staff account, as the import made them before the rule."""
    return Customer.objects.create(user=user, lead_id="555", flg_status="Quoted")


def import_refused(tmp_path, text: str) -> str:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_customers", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def reset_requested(email: str) -> None:
    Client().post(reverse("password_reset"), {"email": email})


# --- The import -------------------------------------------------------------------------------


def test_the_import_refuses_a_row_with_a_staff_accounts_email(tmp_path, ops):
    err = import_refused(
        tmp_path,
        "ann@example.com,Ann,Archer,111,101,Homeowners\nOPS@example.com,Ops,Person,555,101,\n",
    )
    assert (
        "Line 3: ops@example.com is a staff account, and a staff account is never a customer: "
        "use another email address for the customer." in err
    )
    assert "Line 2" not in err
    assert not Customer.objects.exists()
    ops.refresh_from_db()
    assert (ops.first_name, ops.is_staff) == ("", True)


def test_the_admin_import_lists_the_staff_row_with_the_others(staff, ops):
    upload = io.BytesIO((HEADER + "ops@example.com,Ops,Person,555,101,Homeowners\n").encode())
    upload.name = "customers.csv"
    page = staff.post(reverse("admin:appointments_customer_import"), {"file": upload})
    text = page.content.decode()
    assert "Line 2: ops@example.com is a staff account" in text
    assert 'name="payload"' not in text


# --- The admin --------------------------------------------------------------------------------


def customer_form(**changes: str) -> dict[str, str]:
    return {
        "email": "new@example.com",
        "first_name": "New",
        "last_name": "Customer",
        "password": "",
        "lead_id": "777",
        "lead_group": "",
        "flg_status": "",
        **changes,
    }


def test_the_customer_form_says_a_staff_accounts_email_is_never_a_customers(staff, ops):
    page = staff.post(
        reverse("admin:appointments_customer_add"), customer_form(email="Ops@Example.com")
    )
    assert page.status_code == 200
    assert "ops@example.com is a staff account, and a staff account is never a customer" in (
        page.content.decode()
    )
    assert not Customer.objects.exists()


def test_the_customer_form_will_not_edit_a_record_linked_to_a_staff_account(staff, ops):
    record = linked_to(ops)
    page = staff.post(
        reverse("admin:appointments_customer_change", args=[record.pk]),
        customer_form(email=ATTACKER, password="attackers-new-passphrase-9", lead_id="555"),
    )
    assert page.status_code == 200
    assert "This customer record is linked to a staff account" in page.content.decode()
    ops.refresh_from_db()
    assert ops.email == "ops@example.com" and ops.check_password(STAFF_PASSWORD)


def test_the_user_admin_will_not_make_a_customers_account_staff(staff, customer):
    user = customer.user
    url = reverse("admin:auth_user_change", args=[user.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        username=user.username,
        email=user.email,
        is_active="on",
        is_staff="on",
        date_joined_0=user.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=user.date_joined.strftime("%H:%M:%S"),
    )
    for name in ("groups", "user_permissions", "last_login"):
        data.pop(name, None)
    page = staff.post(url, data)
    assert page.status_code == 200
    assert (
        "casey@example.com is a customer&#x27;s account, and a customer&#x27;s account is never "
        "staff" in page.content.decode()
    )
    user.refresh_from_db()
    assert not user.is_staff


# --- The lead webhook -------------------------------------------------------------------------


def test_a_delivery_for_a_lead_linked_to_a_staff_account_is_a_conflict_and_changes_nothing(
    post_lead, ops
):
    record = linked_to(ops)
    response = post_lead(id="555", email=ATTACKER, firstname="Mallory", status="Won")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "conflict"
    assert "linked to a staff account" in body["reason"]
    ops.refresh_from_db()
    assert (ops.email, ops.username, ops.first_name) == ("ops@example.com", "ops@example.com", "")
    record.refresh_from_db()
    assert (record.flg_status, record.lead_group) == ("Quoted", None)
    delivery = LeadDelivery.objects.get()
    assert (delivery.outcome, delivery.customer, delivery.reason) == (
        "conflict",
        record,
        body["reason"],
    )
    assert mail.outbox == []


def test_a_new_lead_with_a_staff_accounts_email_is_a_conflict_that_says_why(post_lead, ops):
    response = post_lead(email="ops@example.com")
    body = response.json()
    assert body["outcome"] == "conflict"
    assert "belongs to a staff account" in body["reason"]
    assert not Customer.objects.exists()
    assert LeadDelivery.objects.get().reason == body["reason"]


# --- The attack, step by step -----------------------------------------------------------------


def test_the_takeover_fails_at_the_import(tmp_path, ops, _mail):
    import_refused(tmp_path, "ops@example.com,,,555,101,Homeowners\n")
    assert not Customer.objects.exists()


def test_the_takeover_fails_at_the_webhook_and_at_the_reset(post_lead, ops):
    # Suppose the link exists anyway (made before the rule): the webhook still will not touch
    # the account, so the reset has no attacker's address to mail.
    linked_to(ops)
    assert post_lead(id="555", email=ATTACKER).json()["outcome"] == "conflict"
    reset_requested(ATTACKER)
    assert mail.outbox == []
    # Nor does the public reset mail a staff account at its own address: no emailed link
    # opens the admin.
    reset_requested("ops@example.com")
    assert mail.outbox == []


# --- The demo seed ----------------------------------------------------------------------------


def test_the_demo_seed_refuses_a_staff_account_at_a_demo_customers_address(ops):
    User.objects.filter(pk=ops.pk).update(username=demo.CUSTOMER_EMAIL, email=demo.CUSTOMER_EMAIL)
    with pytest.raises(CommandError, match="is a staff account, and a staff account is never"):
        call_command("seed_demo", "--force", stdout=io.StringIO())
    assert not Customer.objects.exists()
    ops.refresh_from_db()
    assert ops.check_password(STAFF_PASSWORD)


def test_the_demo_seed_refuses_to_make_a_customer_the_demo_admin(db):
    customer = make_customer(demo.ADMIN_EMAIL, "999", None)
    with pytest.raises(CommandError, match="is a customer's account"):
        call_command("seed_demo", "--force", stdout=io.StringIO())
    customer.user.refresh_from_db()
    assert not customer.user.is_staff and not customer.user.is_superuser
    assert Customer.objects.count() == 1
