"""After `make run`, every customer a newcomer can create books in the sandbox, or the admin
says why not and how to fix it."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from appointments import demo
from appointments.models import AppointmentType, Customer, FlgFailure, LeadGroup
from flg import transport
from tests.conftest import staff_sign_in

NEW_PASSWORD = "a-newcomer-chooses-9"


@pytest.fixture
def demo_sandbox(sandbox, settings):
    """What `make run` sets up: the demo seed, and the sandbox in demo mode."""
    settings.DEBUG = True
    settings.FLG_SANDBOX_AUTO_LEADS = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())
    yield sandbox
    transport.connections_close()


@pytest.fixture
def staff(demo_sandbox):
    client = Client()
    staff_sign_in(client, get_user_model().objects.get(email=demo.ADMIN_EMAIL))
    return client


def books_every_type_offered(customer: Customer) -> list[int]:
    """The status of a start for each type the customer is offered (303: a booking screen)."""
    client = Client()
    client.force_login(customer.user)
    return [
        client.post(reverse("session_start", kwargs={"slug": t.slug})).status_code
        for t in AppointmentType.objects.bookable_by(customer)
    ]


def test_a_customer_added_by_hand_books_in_the_sandbox(staff, demo_sandbox):
    landlords = LeadGroup.objects.get(flg_id=102)
    response = staff.post(
        reverse("admin:appointments_customer_add"),
        {"email": "new@example.com", "password": "", "lead_id": "4242", "lead_group": landlords.pk},
    )
    assert response.status_code == 302
    customer = Customer.objects.get(lead_id="4242")
    assert books_every_type_offered(customer) == [303, 303]
    assert not FlgFailure.objects.exists()


def test_customers_imported_from_csv_book_in_the_sandbox(demo_sandbox, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"
        "ann@example.com,Ann,Archer,5001,101,\n"
        "bob@example.com,Bob,Baker,5002,103,Tenants\n"
        "cat@example.com,Cat,Cole,5003,102,\n"
    )
    call_command("import_customers", str(path), stdout=io.StringIO())
    for lead_id in ("5001", "5002", "5003"):
        statuses = books_every_type_offered(Customer.objects.get(lead_id=lead_id))
        assert statuses and set(statuses) == {303}, lead_id
    assert not FlgFailure.objects.exists()


def test_an_invited_customer_books_in_the_sandbox(demo_sandbox, tmp_path, settings):
    settings.PORTAL_URL = "https://book.example.com"
    path = tmp_path / "customers.csv"
    path.write_text(
        "email,first_name,last_name,lead_id,lead_group_id\ndee@example.com,Dee,,6001,101\n"
    )
    call_command("import_customers", str(path), "--send-invites", stdout=io.StringIO())
    [message] = mail.outbox
    link = re.search(r"https://book\.example\.com(/accounts/invite/\S+/)", message.body)[1]
    client = Client()
    form = client.get(link, follow=True)
    chosen = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert chosen.status_code == 302
    started = client.post(reverse("session_start", kwargs={"slug": "home-survey"}))
    assert started.status_code == 303
    assert not FlgFailure.objects.exists()


def test_without_demo_mode_the_admin_says_why_a_customer_cannot_book_and_how_to_fix_it(
    staff, demo_sandbox, settings
):
    settings.FLG_SANDBOX_AUTO_LEADS = False
    user = get_user_model().objects.create_user("zed@example.com", "zed@example.com")
    customer = Customer.objects.create(user=user, lead_id="7007")
    assert books_every_type_offered(customer) == [502]

    failure = FlgFailure.objects.get()
    assert "lead could not be found" in failure.detail
    page = staff.get(reverse("admin:appointments_flgfailure_change", args=[failure.pk]))
    text = page.content.decode()
    assert "How to fix" in text
    assert "Check the lead id on the customer&#x27;s page" in text
    assert "FLG 360 sandbox &gt; Leads" in text
    assert "FLG_SANDBOX_AUTO_LEADS=1" in text
    history = staff.get(reverse("admin:appointments_customer_change", args=[customer.pk]))
    assert "FLG 360 sandbox &gt; Leads" in history.content.decode()


def test_the_admin_names_flg_failures_and_api_calls(staff):
    index = staff.get("/admin/").content.decode()
    assert "FLG failures" in index
    assert "API calls" in index
    assert "Flg failures" not in index and "Api calls" not in index


def test_the_sandbox_page_says_it_is_in_demo_mode(staff, settings):
    page = staff.get("/sandbox/").content.decode()
    assert "Demo mode" in page
    settings.FLG_SANDBOX_AUTO_LEADS = False
    assert "Demo mode" not in staff.get("/sandbox/").content.decode()
