"""FLG 360's lead webhook over real HTTP: customers kept in step, safely, every delivery kept."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from appointments import booking_links
from appointments.models import AppointmentSession, Customer, LeadDelivery, LeadGroup
from outbox.models import EmailRecord

User = get_user_model()


def joe() -> Customer:
    return Customer.objects.select_related("user", "lead_group").get(lead_id="123456789")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The happy path ---------------------------------------------------------------------------


def test_a_new_lead_with_every_documented_field_becomes_a_customer(webhook):
    response = webhook.post(email="Joe.Bloggs@Example.com")
    assert response.status_code == 200
    assert response.json() == {"outcome": "created", "lead": "123456789"}
    customer = joe()
    user = customer.user
    assert (user.email, user.username) == ("Joe.Bloggs@Example.com", "joe.bloggs@example.com")
    assert (user.first_name, user.last_name) == ("Joe", "Bloggs")
    assert not user.has_usable_password()
    assert (customer.lead_group.flg_id, customer.lead_group.name) == (12345, "Mortgages")
    assert customer.flg_status == "Quoted"
    record = LeadDelivery.objects.get()
    assert (record.lead_id, record.outcome, record.customer, record.source) == (
        "123456789",
        "created",
        customer,
        "127.0.0.1",
    )


def test_the_record_keeps_nothing_of_the_address_phone_or_date_of_birth(webhook):
    webhook.post()
    record = LeadDelivery.objects.values().get()
    kept = " ".join(str(value) for value in record.values())
    for private in ["High Street", "M1 1AA", "0161 496 0000", "1980-02-29", "Bloggs Ltd"]:
        assert private not in kept


def test_the_same_delivery_twice_is_unchanged(webhook):
    webhook.post()
    response = webhook.post()
    assert response.json() == {"outcome": "unchanged", "lead": "123456789"}
    assert User.objects.count() == 1 and Customer.objects.count() == 1
    assert list(LeadDelivery.objects.values_list("outcome", flat=True)) == ["unchanged", "created"]


def test_changed_names_and_status_are_updated(webhook):
    webhook.post()
    response = webhook.post(firstname="Joseph", lastname="Bloggs-Smith", status="Won")
    assert response.json() == {"outcome": "updated", "lead": "123456789"}
    customer = joe()
    assert (customer.user.first_name, customer.user.last_name) == ("Joseph", "Bloggs-Smith")
    assert customer.flg_status == "Won"
    assert LeadDelivery.objects.first().changed == "first name, last name, status"


def test_a_known_customer_is_updated_by_lead_id(webhook, customer, homeowners):
    response = webhook.post(id=customer.lead_id, email="casey@example.com", leadgroupid="101")
    assert response.json()["outcome"] == "updated"
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert (customer.user.first_name, customer.user.last_name) == ("Joe", "Bloggs")
    assert customer.lead_group == homeowners
    assert LeadGroup.objects.get(pk=homeowners.pk).name == "Mortgages"


def test_a_name_only_in_fullname_is_split_into_first_and_last(webhook):
    webhook.post(firstname="", lastname="", fullname="Ann Marie Archer")
    user = joe().user
    assert (user.first_name, user.last_name) == ("Ann", "Marie Archer")


def test_an_empty_field_leaves_what_the_portal_has(webhook):
    webhook.post()
    response = webhook.post(firstname="", lastname="", email="", status="", leadgroupid="")
    assert response.json()["outcome"] == "unchanged"
    customer = joe()
    assert (customer.user.first_name, customer.user.email) == ("Joe", "joe.bloggs@example.com")
    assert (customer.flg_status, customer.lead_group.flg_id) == ("Quoted", 12345)


def test_a_lead_moved_to_another_group_is_offered_that_groups_types_at_once(
    webhook, customer, landlords, type_for_all, type_for_homeowners, type_for_landlords
):
    client = signed_in(customer.user)
    before = client.get("/").content.decode()
    assert "Home survey" in before and "Portfolio review" not in before
    response = webhook.post(id=customer.lead_id, email="casey@example.com", leadgroupid="102")
    assert response.json()["outcome"] == "updated"
    after = client.get("/").content.decode()
    assert "Portfolio review" in after and "Home survey" not in after
    assert client.post("/book/home-survey/").status_code == 404


def test_a_renamed_lead_group_is_renamed(webhook, customer, homeowners):
    response = webhook.post(
        id=customer.lead_id, email="casey@example.com", leadgroupid="101", leadgroupname="Owners"
    )
    assert response.json()["outcome"] == "updated"
    homeowners.refresh_from_db()
    assert homeowners.name == "Owners"
    assert "lead group name" in LeadDelivery.objects.get().changed.split(", ")


def test_a_new_group_without_a_name_is_named_by_its_id(webhook):
    webhook.post(leadgroupid="777", leadgroupname="")
    assert LeadGroup.objects.get(flg_id=777).name == "Lead group 777"


# --- Skipped and conflict ---------------------------------------------------------------------


@pytest.mark.parametrize("email", [None, "", "not-an-email", "joe@", "a b@example.com"])
def test_a_new_lead_without_a_valid_email_is_skipped_and_stored_nowhere(webhook, email):
    response = webhook.post(email=email)
    assert response.status_code == 200
    body = response.json()
    assert (body["outcome"], body["lead"]) == ("skipped", "123456789")
    assert "email" in body["reason"]
    assert not User.objects.exists() and not Customer.objects.exists()
    assert not LeadGroup.objects.exists()
    assert LeadDelivery.objects.get().outcome == "skipped"


def test_a_new_lead_with_another_customers_email_is_a_conflict_and_changes_nothing(
    webhook, customer
):
    response = webhook.post(email="CASEY@example.com")
    body = response.json()
    assert body["outcome"] == "conflict"
    assert "lead 108123759" in body["reason"]
    assert list(Customer.objects.all()) == [customer]
    customer.user.refresh_from_db()
    assert (customer.user.first_name, customer.user.email) == ("Casey", "casey@example.com")
    assert not LeadGroup.objects.filter(flg_id=12345).exists()
    record = LeadDelivery.objects.get()
    assert (record.outcome, record.reason) == ("conflict", body["reason"])


def test_a_new_lead_with_a_staff_accounts_email_is_a_conflict(webhook):
    staff = User.objects.create_user("boss@example.com", "boss@example.com", "pw", is_staff=True)
    response = webhook.post(email="boss@example.com")
    assert response.json()["outcome"] == "conflict"
    assert not Customer.objects.exists()
    assert not hasattr(User.objects.get(pk=staff.pk), "customer")


def test_an_email_already_used_by_another_customer_is_never_moved_to_this_one(
    webhook, customer, other_customer
):
    response = webhook.post(id=customer.lead_id, email="lee@example.com", firstname="Mallory")
    assert response.json()["outcome"] == "conflict"
    customer.user.refresh_from_db()
    other_customer.user.refresh_from_db()
    assert (customer.user.email, customer.user.first_name) == ("casey@example.com", "Casey")
    assert other_customer.user.email == "lee@example.com"
    assert other_customer.lead_id == Customer.objects.get(user=other_customer.user).lead_id
    assert mail.outbox == []


def test_a_new_email_no_one_uses_is_applied_and_the_old_address_is_told(webhook, customer):
    response = webhook.post(id=customer.lead_id, email="casey.new@example.com")
    assert response.json()["outcome"] == "updated"
    customer.user.refresh_from_db()
    assert (customer.user.email, customer.user.username) == (
        "casey.new@example.com",
        "casey.new@example.com",
    )
    [notice] = mail.outbox
    assert notice.to == ["casey@example.com"]
    assert "sign-in email address has changed" in notice.subject
    assert "casey.new@example.com" not in notice.body
    assert "help@acme.example" in notice.body


def test_the_same_email_in_another_letter_case_changes_nothing(webhook, customer):
    webhook.post(id=customer.lead_id, email="Casey@Example.COM", firstname="Casey", lastname="")
    customer.user.refresh_from_db()
    assert customer.user.email == "casey@example.com"
    assert mail.outbox == []


# --- Statuses that may not book ---------------------------------------------------------------


def test_a_lead_in_a_no_booking_status_keeps_its_account_but_is_asked_to_contact_us(
    webhook, settings, customer, type_for_all
):
    settings.FLG_WEBHOOK_NO_BOOKING_STATUSES = ["Dead", "Closed"]
    client = signed_in(customer.user)
    webhook.post(id=customer.lead_id, email="casey@example.com", status="dead")
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Please contact us" in text and "help@acme.example" in text
    assert "Initial consultation" not in text and "/book/" not in text
    start = client.post("/book/initial-consultation/")
    assert start.status_code == 403
    assert "Please contact us" in start.content.decode()

    webhook.post(id=customer.lead_id, email="casey@example.com", status="Quoted")
    assert "Initial consultation" in client.get("/").content.decode()


def test_a_personal_booking_link_does_not_book_for_a_lead_in_a_no_booking_status(
    webhook, settings, customer, type_for_all
):
    settings.FLG_WEBHOOK_NO_BOOKING_STATUSES = ["Dead"]
    link = booking_links.booking_link_create(
        customer=customer, appointment_type=type_for_all, base_url="http://testserver"
    ).url.removeprefix("http://testserver")
    token = link.rstrip("/").rsplit("/", 1)[-1]
    webhook.post(id=customer.lead_id, email="casey@example.com", status="Dead")
    person = Client()
    page = person.get(link, follow=True)  # the token moves to the session, then the page
    assert page.status_code == 403 and "Please contact us" in page.content.decode()
    book = person.post("/book/initial-consultation/link/", {"token": token})
    assert book.status_code == 403
    assert not AppointmentSession.objects.exists()


def test_other_statuses_book_as_before(webhook, settings, customer, type_for_all):
    settings.FLG_WEBHOOK_NO_BOOKING_STATUSES = ["Dead"]
    webhook.post(id=customer.lead_id, email="casey@example.com", status="Deadline agreed")
    assert "Initial consultation" in signed_in(customer.user).get("/").content.decode()


# --- Invitations ------------------------------------------------------------------------------


def test_with_invitations_on_a_new_customer_is_invited_once(webhook, settings):
    settings.FLG_WEBHOOK_INVITE_NEW = True
    webhook.post()
    webhook.post()
    webhook.post(firstname="Joseph")
    [invitation] = mail.outbox
    assert invitation.to == ["joe.bloggs@example.com"]
    assert re.search(r"https://book\.example\.com/accounts/invite/\S+/\S+/", invitation.body)
    assert LeadDelivery.objects.filter(invited=True).count() == 1


def test_a_lead_is_never_invited_twice_even_when_its_customer_is_made_again(webhook, settings):
    settings.FLG_WEBHOOK_INVITE_NEW = True
    webhook.post()
    joe().user.delete()
    assert webhook.post().json()["outcome"] == "created"
    assert len(mail.outbox) == 1


def test_without_invitations_nobody_is_emailed(webhook):
    webhook.post()
    assert mail.outbox == []


def test_a_mail_server_that_refuses_does_not_refuse_the_delivery(webhook, settings):
    settings.FLG_WEBHOOK_INVITE_NEW = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    assert webhook.post().json()["outcome"] == "created"
    # Queued once: the outbox retries it, and staff see it in the email records.
    assert LeadDelivery.objects.get().invited is True
    [record] = EmailRecord.objects.all()
    assert record.kind == "invite" and record.last_error.startswith("ConnectionRefusedError")


# --- Simultaneous deliveries ------------------------------------------------------------------

DELIVERIES = 10


@pytest.mark.postgres
def test_ten_simultaneous_deliveries_of_a_new_lead_make_one_user_and_one_customer(webhook):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: make test runs it there (TEST_DATABASE_URL)")
    barrier = threading.Barrier(DELIVERIES)
    answers: list[dict] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        # Each request is served by a live_server thread with a database connection of its
        # own, as separate workers would be.
        try:
            barrier.wait(timeout=10)
            response = webhook.post()
            assert response.status_code == 200, response.text[:300]
            answers.append(response.json())
        except BaseException as exc:  # collected and asserted in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(DELIVERIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(a["outcome"] for a in answers) == ["created"] + ["unchanged"] * 9
    assert User.objects.count() == 1
    assert Customer.objects.get().lead_id == "123456789"
    assert LeadGroup.objects.filter(flg_id=12345).count() == 1
    assert LeadDelivery.objects.count() == DELIVERIES


# --- Keeping the records ----------------------------------------------------------------------


def test_prune_lead_deliveries_deletes_records_older_than_the_log_days(db, settings, customer):
    settings.FLG_WEBHOOK_LOG_DAYS = 30
    now = timezone.now()
    for days in [0, 29, 31, 400]:
        LeadDelivery.objects.create(
            lead_id="1", outcome="unchanged", created_at=now - dt.timedelta(days=days)
        )
    out = io.StringIO()
    call_command("prune_lead_deliveries", stdout=out)
    assert out.getvalue().strip() == "Deleted 2 lead delivery record(s) older than 30 days."
    kept = sorted((now - d.created_at).days for d in LeadDelivery.objects.all())
    assert kept == [0, 29]


def test_a_delivery_record_outlives_its_customer(webhook):
    webhook.post()
    joe().delete()
    record = LeadDelivery.objects.get()
    assert (record.lead_id, record.customer) == ("123456789", None)
