"""Erasing a customer: their name and email in no table, the business's totals unchanged."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.test import Client
from django.urls import reverse

from appointments import leads
from appointments.models import AppointmentSession, Customer, FlgFailure, LeadDelivery
from flg import webhooks
from outbox.kinds import masked_email
from outbox.models import EmailRecord
from privacy import audit, erasure
from privacy.models import Erasure
from tests.conftest import PASSWORD, staff_sign_in
from tests.privacy.conftest import EMAIL, FIRST, LAST, LEAD, seed_person

TEXT = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)


def rows_mentioning(*needles: str) -> dict[str, int]:
    """Every model's every text column, searched for each needle (letter case ignored).

    FLG's stand-in (flg_sandbox) plays FLG itself, which keeps its own records; it is not ours.
    """
    found: dict[str, int] = {}
    for model in apps.get_models():
        if model._meta.app_label == "flg_sandbox":
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT)]
        if not fields:
            continue
        annotations = {f"_t{i}": Cast(f.attname, TextField()) for i, f in enumerate(fields)}
        query = Q()
        for needle in needles:
            for name in annotations:
                query |= Q(**{f"{name}__icontains": needle})
        count = model._default_manager.annotate(**annotations).filter(query).count()
        if count:
            found[model._meta.label] = count
    return found


def totals() -> dict[str, int]:
    """What the admin counts: customers, sessions, bookings, failures."""
    return {
        "customers": Customer.objects.count(),
        "sessions": AppointmentSession.objects.count(),
        "booked": AppointmentSession.objects.filter(booked_at__isnull=False).count(),
        "failures": FlgFailure.objects.count(),
    }


@pytest.fixture
def seeded(boss, type_for_all):
    return seed_person(staff_user=boss, appointment_type=type_for_all)


def test_the_seed_really_spreads_the_name_and_email_everywhere(seeded):
    found = rows_mentioning(EMAIL, FIRST, LAST)
    for label in ["auth.User", "auditlog.LogEntry", "admin.LogEntry", "outbox.EmailRecord"]:
        assert label in found
    assert "axes.AccessLog" in rows_mentioning(EMAIL)
    assert "outbox.EmailRecord" in rows_mentioning(masked_email(EMAIL))


def test_erasure_leaves_the_name_and_email_in_no_table_and_the_totals_unchanged(seeded, boss):
    before = totals()
    erased = erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    assert erased is not None and erased.by == boss and erased.lead_id_kept == ""
    assert rows_mentioning(EMAIL, FIRST, LAST, EMAIL.split("@")[0], masked_email(EMAIL)) == {}
    # The lead id too, but for Erasure's record: none, as it was dropped.
    assert rows_mentioning(LEAD) == {}
    assert totals() == before
    customer = Customer.objects.select_related("user").get(pk=seeded.customer.pk)
    assert customer.erased_at is not None
    assert not customer.user.is_active and not customer.user.has_usable_password()
    waiting = EmailRecord.objects.get(kind="email_changed")
    assert (waiting.status, waiting.last_error) == ("failed", erasure.CANCELLED)
    # The signed-in browser is signed out, and nobody signs in with the old details.
    assert seeded.client.get("/").status_code == 302
    again = Client().post("/accounts/login/", {"username": EMAIL, "password": PASSWORD})
    assert again.status_code == 200 and "_auth_user_id" not in again.client.session


def test_the_erasure_is_in_the_audit_trail_naming_staff_not_the_customer(seeded, boss):
    erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    entry = LogEntry.objects.get(additional_data__event=audit.CUSTOMER_ERASED)
    assert entry.actor == boss and entry.object_id == seeded.customer.pk
    assert EMAIL not in str(entry.additional_data) + entry.object_repr


def test_a_lead_delivered_again_after_erasure_with_the_lead_id_kept_is_skipped(seeded, boss):
    erasure.customer_erase(customer=seeded.customer, keep_lead_id=True, by=boss)
    assert Erasure.objects.get().lead_id_kept == LEAD
    delivery = webhooks.LeadPayload(lead_id=LEAD, email=EMAIL, first_name=FIRST, last_name=LAST)
    record = leads.lead_upsert(delivery=delivery)
    assert record.outcome == LeadDelivery.Outcome.SKIPPED
    assert "erased" in record.reason
    assert Customer.objects.count() == 1
    assert rows_mentioning(EMAIL, FIRST, LAST) == {}


def test_without_the_lead_id_a_delivery_for_the_lead_is_a_new_customer(seeded, boss):
    erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    delivery = webhooks.LeadPayload(lead_id=LEAD, email=EMAIL, first_name=FIRST)
    assert leads.lead_upsert(delivery=delivery).outcome == LeadDelivery.Outcome.CREATED
    assert Customer.objects.count() == 2


def test_erasing_twice_changes_nothing_more(seeded, boss):
    assert erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    assert erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss) is None
    assert Erasure.objects.count() == 1


# --- The admin action --------------------------------------------------------------------------


def erase_post(client, customer, **extra):
    return client.post(
        reverse("admin:appointments_customer_changelist"),
        {"action": "erase_customers", "_selected_action": [customer.pk], **extra},
    )


def test_staff_see_what_will_go_before_erasing(seeded, boss):
    staff = staff_sign_in(Client(), boss)
    page = erase_post(staff, seeded.customer)
    text = page.content.decode()
    assert page.status_code == 200
    assert "Erase 1 customer(s)" in text and "Booking sessions" in text
    assert "kept as anonymous rows" in text and "Keep the FLG lead id" in text
    assert Customer.objects.get(pk=seeded.customer.pk).erased_at is None


def test_staff_erase_from_the_admin_keeping_the_lead_id(seeded, boss):
    staff = staff_sign_in(Client(), boss)
    response = erase_post(staff, seeded.customer, confirm="1", keep_lead_id="1")
    assert response.status_code == 302
    erased = Erasure.objects.get()
    assert (erased.by, erased.reason, erased.lead_id_kept) == (boss, "staff", LEAD)
    assert rows_mentioning(EMAIL, FIRST, LAST) == {}
    listing = staff.get(reverse("admin:privacy_erasure_changelist")).content.decode()
    assert "Erased by staff" in listing


def test_a_record_linked_to_a_staff_account_is_never_erased_from_here(seeded, boss):
    customer = seeded.customer
    customer.user.is_staff = True
    customer.user.save()
    assert erasure.customer_erase(customer=customer, keep_lead_id=False, by=boss) is None
    customer.user.refresh_from_db()
    assert customer.user.is_active and customer.user.email == EMAIL


def test_the_customer_list_filters_erased_customers(seeded, boss):
    staff = staff_sign_in(Client(), boss)
    erasure.customer_erase(customer=seeded.customer, keep_lead_id=True, by=boss)
    listing = staff.get(reverse("admin:appointments_customer_changelist"), {"erased": "yes"})
    assert listing.status_code == 200 and LEAD in listing.content.decode()
    none = staff.get(reverse("admin:appointments_customer_changelist"), {"erased": "no"})
    assert LEAD not in none.content.decode()


def test_erasing_several_at_once_signs_each_out_and_leaves_others_signed_in(seeded, boss):
    from tests.conftest import make_customer

    lee = make_customer("lee@example.com", "108123760", None)
    ann = make_customer("ann@example.com", "108123761", None)
    browsers = {}
    for who in (lee, ann):
        browsers[who.pk] = Client()
        signed = browsers[who.pk].post(
            "/accounts/login/", {"username": who.user.email, "password": PASSWORD}
        )
        assert signed.status_code == 302
    staff = staff_sign_in(Client(), boss)
    erase_post(staff, seeded.customer, confirm="1", _selected_action=[seeded.customer.pk, lee.pk])
    assert Erasure.objects.count() == 2
    assert seeded.client.get("/").status_code == 302
    assert browsers[lee.pk].get("/").status_code == 302
    assert browsers[ann.pk].get("/").status_code == 200
