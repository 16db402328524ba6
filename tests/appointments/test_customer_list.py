"""The customer list tells staff who was invited, who signed in, who booked and how each came
in, in one query for the page; and a customer's page sends an invitation with one button."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments import importing
from appointments.models import AppointmentSession, Customer
from outbox.models import EmailRecord
from tests.appointments.test_type_checks import messages_of
from tests.conftest import make_customer

LIST = "admin:appointments_customer_changelist"
WHEN = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def booked(customer, appointment_type, at):
    return AppointmentSession.objects.create(
        flg_session_id=uuid.uuid4(),
        customer=customer,
        appointment_type=appointment_type,
        lead_id=customer.lead_id,
        public_url="https://platform.getflg.com/appointments/book/x",
        closes_at=at + dt.timedelta(minutes=30),
        created_at=at,
        booked_at=at,
    )


def invited(customer, at, status=EmailRecord.Status.SENT):
    record = EmailRecord.objects.create(
        kind="invite", user_id=customer.user_id, recipient="c•••@example.com", status=status
    )
    EmailRecord.objects.filter(pk=record.pk).update(queued_at=at)


@pytest.fixture
def onboarded(customer, other_customer, type_for_all):
    """Casey: invited twice, signed in, booked twice. Lee: nothing yet."""
    invited(customer, WHEN - dt.timedelta(days=9), EmailRecord.Status.FAILED)
    invited(customer, WHEN - dt.timedelta(days=2))
    customer.user.last_login = WHEN - dt.timedelta(days=1)
    customer.user.save()
    booked(customer, type_for_all, WHEN - dt.timedelta(days=5))
    booked(customer, type_for_all, WHEN)
    return customer, other_customer


def rows(response) -> dict[str, object]:
    return {c.user.email: c for c in response.context["cl"].result_list}


def test_the_list_shows_invited_last_sign_in_last_booking_and_source(staff, onboarded):
    response = staff.get(reverse(LIST))
    found = rows(response)
    assert found["casey@example.com"].invited_at == WHEN - dt.timedelta(days=2)
    assert found["casey@example.com"].invite_status == "sent"
    assert found["casey@example.com"].last_booked == WHEN
    assert found["lee@example.com"].invited_at is None
    assert found["lee@example.com"].last_booked is None
    text = response.content.decode()
    for heading in ("Invited", "Last sign-in", "Last booking", "Came in by"):
        assert heading in text
    assert "18 Nov 2026" in text and "19 Nov 2026" in text and "20 Nov 2026" in text


@pytest.mark.parametrize(
    "query, emails",
    [
        ("invited=yes", {"casey@example.com"}),
        ("invited=never", {"lee@example.com"}),
        ("signed_in=yes", {"casey@example.com"}),
        ("signed_in=never", {"lee@example.com"}),
        ("booked=yes", {"casey@example.com"}),
        ("booked=never", {"lee@example.com"}),
        ("source=admin", {"lee@example.com"}),
        ("source=", {"casey@example.com"}),
    ],
)
def test_each_filter_keeps_the_customers_it_names(staff, onboarded, query, emails):
    Customer.objects.filter(lead_id="108123760").update(source=Customer.Source.ADMIN)
    response = staff.get(reverse(LIST) + "?" + query)
    assert set(rows(response)) == emails


def test_the_list_takes_as_many_queries_for_fifty_customers_as_for_two(
    staff, onboarded, type_for_all
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(reverse(LIST)).status_code == 200
        return len(queries)

    count()  # the first page also fills per-process caches (the portal's settings)
    few = count()
    for n in range(48):
        extra = make_customer(f"c{n}@example.com", f"20{n:03d}", None)
        invited(extra, WHEN)
        booked(extra, type_for_all, WHEN)
    assert count() == few


def test_send_invitation_on_a_customer_page_emails_them_and_says_so(staff, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url = reverse("admin:appointments_customer_invite", args=[customer.pk])
    page = staff.get(reverse("admin:appointments_customer_change", args=[customer.pk]))
    assert f'action="{url}"' in page.content.decode()
    assert "Send invitation" in page.content.decode()

    response = staff.post(url, follow=True)

    assert response.redirect_chain[-1][0] == reverse(
        "admin:appointments_customer_change", args=[customer.pk]
    )
    assert any(m.startswith("1 invitation(s) queued") for m in messages_of(response))
    assert [m.to for m in mail.outbox] == [["casey@example.com"]]
    record = EmailRecord.objects.get(kind="invite")
    assert record.user_id == customer.user_id


def test_send_invitation_is_a_post_with_a_csrf_token(staff, customer):
    from django.test import Client

    url = reverse("admin:appointments_customer_invite", args=[customer.pk])
    assert staff.get(url).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = staff.cookies
    assert strict.post(url).status_code == 403
    assert not EmailRecord.objects.exists()


def test_an_inactive_customer_is_not_invited(staff, customer):
    customer.user.is_active = False
    customer.user.save()
    url = reverse("admin:appointments_customer_invite", args=[customer.pk])
    response = staff.post(url, follow=True)
    assert "Invitations go to active customer accounts only." in messages_of(response)
    assert not EmailRecord.objects.exists()


def test_each_way_in_records_where_the_customer_came_from(staff, homeowners):
    staff.post(
        reverse("admin:appointments_customer_add"),
        {
            "email": "new@example.com",
            "first_name": "N",
            "last_name": "",
            "password": "",
            "lead_id": "555",
            "lead_group": homeowners.pk,
            "flg_status": "",
        },
    )
    importing.customers_import_apply(
        data=b"email,first_name,last_name,lead_id,lead_group_id\nimp@example.com,I,M,556,101\n"
    )
    assert dict(Customer.objects.values_list("lead_id", "source")) == {
        "555": Customer.Source.ADMIN,
        "556": Customer.Source.IMPORT,
    }


def test_the_webhook_records_that_the_customer_came_by_it(webhook):
    assert webhook.post().status_code == 200
    assert Customer.objects.get(lead_id="123456789").source == Customer.Source.WEBHOOK


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_customer_and_marks_those_the_webhook_created():
    before = [("appointments", "0009_customer_unlink_staff")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User, OldCustomer = old.get_model("auth", "User"), old.get_model("appointments", "Customer")
    Delivery = old.get_model("appointments", "LeadDelivery")
    for n, lead in enumerate(["701", "702"]):
        user = User.objects.create(username=f"m{n}@example.com", email=f"m{n}@example.com")
        OldCustomer.objects.create(user=user, lead_id=lead)
    Delivery.objects.create(
        lead_id="701",
        outcome="created",
        customer=OldCustomer.objects.get(lead_id="701"),
        created_at=timezone.now(),
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert dict(Customer.objects.values_list("lead_id", "source")) == {"701": "webhook", "702": ""}


def test_a_customer_page_says_when_they_were_invited_signed_in_and_booked(staff, onboarded):
    casey, lee = onboarded
    page = staff.get(reverse("admin:appointments_customer_change", args=[casey.pk]))
    assert (
        "Last invited on 18 Nov 2026; last signed in on 19 Nov 2026; last reported a booking "
        "on 20 Nov 2026."
    ) in page.content.decode()
    page = staff.get(reverse("admin:appointments_customer_change", args=[lee.pk]))
    assert "Last invited never; last signed in never; last reported a booking never." in (
        page.content.decode()
    )
