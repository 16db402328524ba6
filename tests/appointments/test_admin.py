"""The admin, as a staff member without technical help would use it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentSession, Customer, FlgFailure, LeadDelivery
from tests.conftest import staff_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-admin-1")
    return staff_sign_in(client, user)


def registered_models():
    return [
        (model._meta.app_label, model._meta.model_name, model_admin)
        for model, model_admin in admin.site._registry.items()
    ]


@pytest.mark.parametrize(("app", "model", "model_admin"), registered_models())
def test_every_changelist_and_add_form_loads(staff_client, app, model, model_admin, customer):
    assert staff_client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200
    add = staff_client.get(reverse(f"admin:{app}_{model}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


def test_a_type_for_every_group_says_so(staff_client, type_for_all, type_for_homeowners):
    page = staff_client.get(reverse("admin:appointments_appointmenttype_changelist"))
    text = page.content.decode()
    assert "All lead groups" in text
    assert "Homeowners" in text


def test_the_type_form_says_where_flg_shows_the_id(staff_client):
    page = staff_client.get(reverse("admin:appointments_appointmenttype_add")).content.decode()
    assert "Settings > Appointments" in page
    assert "Properties" in page


@pytest.mark.parametrize("term", ["CASEY@example", "Casey", "Jones", "108123759"])
def test_customers_are_found_by_email_name_and_lead_id(
    staff_client, customer, other_customer, term
):
    customer.user.last_name = "Jones"
    customer.user.save()
    other_customer.user.first_name = "Lee"
    other_customer.user.save()
    page = staff_client.get(reverse("admin:appointments_customer_changelist"), {"q": term})
    assert list(page.context["cl"].result_list) == [customer]


def test_staff_add_a_customer_with_their_account(staff_client, homeowners):
    response = staff_client.post(
        reverse("admin:appointments_customer_add"),
        {
            "email": "New.Person@example.com",
            "first_name": "New",
            "last_name": "Person",
            "password": "",
            "lead_id": " 555 ",
            "lead_group": str(homeowners.pk),
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="New.Person@example.com")
    assert user.username == "new.person@example.com"
    assert user.customer.lead_id == "555"
    assert user.customer.lead_group == homeowners


def test_adding_a_customer_with_a_taken_email_says_so(staff_client, customer):
    response = staff_client.post(
        reverse("admin:appointments_customer_add"),
        {"email": "CASEY@Example.com", "lead_id": "556", "password": ""},
    )
    assert response.status_code == 200
    assert "Another account already uses this email address" in response.content.decode()
    assert Customer.objects.count() == 1


def test_sessions_are_read_only_newest_first_and_filter_by_state(
    staff_client, customer, type_for_all
):
    now = timezone.now()
    closed = AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=type_for_all,
        lead_id=customer.lead_id,
        public_url="https://platform.getflg.com/appointments/book/old",
        closes_at=now - dt.timedelta(hours=1),
        created_at=now - dt.timedelta(hours=2),
    )
    open_ = AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=type_for_all,
        lead_id=customer.lead_id,
        public_url="https://platform.getflg.com/appointments/book/new",
        closes_at=now + dt.timedelta(minutes=20),
    )
    url = reverse("admin:appointments_appointmentsession_changelist")
    listing = staff_client.get(url)
    assert list(listing.context["cl"].result_list) == [open_, closed]
    assert list(staff_client.get(url, {"state": "open"}).context["cl"].result_list) == [open_]
    assert list(staff_client.get(url, {"state": "closed"}).context["cl"].result_list) == [closed]
    change = reverse("admin:appointments_appointmentsession_change", args=[open_.pk])
    page = staff_client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert staff_client.post(change, {}).status_code == 403
    add = reverse("admin:appointments_appointmentsession_add")
    assert staff_client.get(add).status_code == 403


def test_failures_and_deliveries_are_read_only_but_may_be_deleted(
    staff_client, customer, type_for_all
):
    failure = FlgFailure.objects.create(
        appointment_type=type_for_all, code="unavailable", customer_message="m", detail="d"
    )
    delivery = LeadDelivery.objects.create(lead_id="108123759", outcome="updated")
    for model, row in [("flgfailure", failure), ("leaddelivery", delivery)]:
        change = reverse(f"admin:appointments_{model}_change", args=[row.pk])
        assert 'name="_save"' not in staff_client.get(change).content.decode()
        assert staff_client.post(change, {}).status_code == 403
        assert staff_client.get(reverse(f"admin:appointments_{model}_add")).status_code == 403
        delete = reverse(f"admin:appointments_{model}_delete", args=[row.pk])
        assert staff_client.post(delete, {"post": "yes"}).status_code == 302
    assert not FlgFailure.objects.exists() and not LeadDelivery.objects.exists()


def test_sessions_are_never_deleted_from_the_admin(staff_client, customer, type_for_all):
    session = AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=type_for_all,
        lead_id=customer.lead_id,
        public_url="https://platform.getflg.com/appointments/book/new",
        closes_at=timezone.now() + dt.timedelta(minutes=20),
    )
    delete = reverse("admin:appointments_appointmentsession_delete", args=[session.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert AppointmentSession.objects.filter(pk=session.pk).exists()


def test_staff_sign_in_to_the_admin_with_their_email(client):
    get_user_model().objects.create_superuser("admin@example.com", "Admin@Example.com", "pw-a-1")
    page = client.get("/admin/login/").content.decode()
    assert "Email address" in page
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin@example.com", "password": "pw-a-1"}
    )
    assert response.status_code == 302
    # The password is the first step; a new account then sets up its app (two-factor).
    assert client.get("/admin/", follow=True).request["PATH_INFO"] == "/accounts/two-factor/enrol/"
