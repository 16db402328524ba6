"""The audit trail: staff actions on customers and types, viewable and filterable; and no
personal data where it need not be (logs, metrics, task payloads)."""

from __future__ import annotations

import json
import logging

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from appointments.models import AppointmentType
from privacy import audit, erasure
from tests.conftest import staff_sign_in
from tests.outbox.conftest import drain
from tests.privacy.conftest import EMAIL, FIRST, LAST, LEAD, seed_person

CUSTOMERS = "admin:appointments_customer_changelist"
AUDIT = "admin:auditlog_logentry_changelist"


@pytest.fixture
def seeded(boss, type_for_all):
    return seed_person(staff_user=boss, appointment_type=type_for_all)


@pytest.fixture
def staff(boss):
    return staff_sign_in(Client(), boss)


def test_exporting_booking_links_is_recorded_with_who_and_which_customers(
    seeded, staff, boss, type_for_all
):
    response = staff.post(
        reverse(CUSTOMERS),
        {
            "action": "export_booking_links",
            "_selected_action": [seeded.customer.pk],
            "confirm": "1",
            "appointment_type": type_for_all.pk,
            "days": 7,
        },
    )
    assert response["Content-Type"].startswith("text/csv")
    entry = LogEntry.objects.get(additional_data__event=audit.BOOKING_LINKS_EXPORTED)
    assert entry.actor == boss
    assert entry.additional_data["customer ids"] == [seeded.customer.pk]
    assert entry.additional_data["appointment type id"] == str(type_for_all.pk)
    assert EMAIL not in json.dumps(entry.additional_data)


def test_the_export_form_alone_records_nothing(seeded, staff):
    page = staff.post(
        reverse(CUSTOMERS),
        {"action": "export_booking_links", "_selected_action": [seeded.customer.pk]},
    )
    assert page.status_code == 200
    assert not LogEntry.objects.filter(additional_data__event=audit.BOOKING_LINKS_EXPORTED)


def test_sending_invitations_is_recorded(seeded, staff, boss):
    staff.post(
        reverse(CUSTOMERS),
        {"action": "send_invitations", "_selected_action": [seeded.customer.pk]},
    )
    entry = LogEntry.objects.get(additional_data__event=audit.INVITATIONS_SENT)
    assert (entry.actor, entry.additional_data["customers"]) == (boss, 1)


def test_a_staff_change_to_a_type_is_recorded_field_by_field(staff, boss, type_for_all):
    url = reverse("admin:appointments_appointmenttype_change", args=[type_for_all.pk])
    form = {
        "flg_id": str(type_for_all.flg_id),
        "name": "First consultation",
        "slug": type_for_all.slug,
        "description": "",
        "is_active": "on",
        "sort_order": 0,
    }
    assert staff.post(url, form).status_code == 302
    entry = LogEntry.objects.get_for_object(AppointmentType.objects.get()).get(
        action=LogEntry.Action.UPDATE
    )
    assert entry.actor == boss
    assert entry.changes_dict["name"] == ["Initial consultation", "First consultation"]


def test_the_trail_is_filterable_by_event_and_by_who(seeded, staff, boss):
    seeded.client.post("/your-data/download/")
    erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    page = staff.get(reverse(AUDIT), {"event": audit.DATA_DOWNLOADED})
    text = page.content.decode()
    assert page.status_code == 200 and "data downloaded" in text
    assert "customer erased" not in text
    erased = staff.get(reverse(AUDIT), {"event": audit.CUSTOMER_ERASED}).content.decode()
    assert "customer erased" in erased
    by_staff = staff.get(reverse(AUDIT), {"who": "staff"}).content.decode()
    assert "customer erased" in by_staff and "data downloaded" not in by_staff
    # The download was the customer's own, and they are erased: it names nobody now.
    assert EMAIL not in text and FIRST not in text and LAST not in text


def test_erasure_and_retention_log_ids_and_counts_never_a_name_or_email(seeded, boss, caplog):
    with caplog.at_level(logging.DEBUG):
        erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    for needle in (EMAIL, FIRST, LAST):
        assert needle not in caplog.text


@pytest.mark.queue
def test_the_deletion_links_task_holds_ids_only(seeded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = seeded.client.post("/your-data/delete/email/")
    assert response.status_code == 302
    stored = json.dumps(list(DBTaskResult.objects.values("args_kwargs")), default=str)
    assert "philippa" not in stored.lower()
    drain()
    stored = json.dumps(list(DBTaskResult.objects.values("args_kwargs", "return_value")))
    assert "philippa" not in stored.lower() and "/your-data/delete/link/" not in stored


def test_the_metrics_page_names_nobody_after_a_download_and_an_erasure(seeded, boss, settings):
    settings.METRICS_TOKEN = "metrics-token-0123456789"
    seeded.client.post("/your-data/download/")
    erasure.customer_erase(customer=seeded.customer, keep_lead_id=False, by=boss)
    page = Client().get("/metrics", headers={"Authorization": f"Bearer {settings.METRICS_TOKEN}"})
    assert page.status_code == 200
    for needle in (EMAIL, FIRST, LAST, LEAD):
        assert needle not in page.content.decode()


def test_staff_download_a_customers_data_for_a_request_and_it_is_recorded(seeded, staff, boss):
    response = staff.post(
        reverse(CUSTOMERS),
        {"action": "download_customer_data", "_selected_action": [seeded.customer.pk]},
    )
    assert response["Content-Disposition"] == 'attachment; filename="customer-data.json"'
    data = json.loads(response.content)
    assert data[str(seeded.customer.pk)]["account"]["email"] == EMAIL
    entry = LogEntry.objects.get(additional_data__event=audit.DATA_DOWNLOADED)
    assert (entry.actor, entry.additional_data["by"]) == (boss, "staff")


def test_an_entry_names_who_and_the_address_the_portal_believes(staff, boss, type_for_all):
    # The request's own address; an X-Forwarded-For from a client that is no trusted proxy
    # (TRUSTED_PROXIES is empty in tests) is not believed.
    url = reverse("admin:appointments_appointmenttype_change", args=[type_for_all.pk])
    form = {
        "flg_id": str(type_for_all.flg_id),
        "name": "Second consultation",
        "slug": type_for_all.slug,
        "is_active": "on",
        "sort_order": 0,
    }
    answer = staff.post(url, form, REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert answer.status_code == 302
    entry = LogEntry.objects.get_for_object(type_for_all).get(action=LogEntry.Action.UPDATE)
    assert (entry.actor, entry.actor_email, entry.remote_addr) == (boss, boss.email, "192.0.2.7")


def test_an_entry_written_outside_a_request_names_nobody(type_for_all):
    # The worker's and the commands' changes: no request, so no actor and no address.
    type_for_all.name = "Changed by a job"
    type_for_all.save()
    entry = LogEntry.objects.get_for_object(type_for_all).get(action=LogEntry.Action.UPDATE)
    assert (entry.actor, entry.remote_addr) == (None, None)
