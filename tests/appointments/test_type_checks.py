"""A type's FLG id checked on save against the sandbox over real HTTP: known, unknown, FLG down;
no session is ever created, and customers are never offered a type FLG did not know."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse

from appointments import offered, type_checks
from appointments.models import AppointmentType
from flg import connection
from flg_sandbox import models as sandbox_models

FlgCheck = AppointmentType.FlgCheck
UNKNOWN_ID = uuid.UUID("0badc0de-0000-4000-8000-000000000001")


def add_type(staff, flg_id, name="Kitchen visit"):
    return staff.post(
        reverse("admin:appointments_appointmenttype_add"),
        {
            "name": name,
            "description": "",
            "is_active": "on",
            "sort_order": "5",
            "flg_id": str(flg_id),
            "lead_group": "",
            "slug": "",
        },
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def flg_messages(response) -> list[str]:
    return [m for m in messages_of(response) if "FLG" in m]


@pytest.fixture
def known_in_sandbox(sandbox):
    sandbox_models.AppointmentType.objects.create(id=uuid.UUID(int=7), name="Kitchen visit")
    return uuid.UUID(int=7)


def test_saving_a_type_flg_knows_says_so_and_creates_no_session(
    staff, sandbox, known_in_sandbox, customer
):
    response = add_type(staff, known_in_sandbox)

    assert response.status_code == 200
    assert "Kitchen visit: FLG 360 knows its id." in messages_of(response)
    saved = AppointmentType.objects.get(flg_id=known_in_sandbox)
    assert saved.flg_check == FlgCheck.KNOWN
    assert saved.flg_checked_at is not None
    assert not sandbox_models.Session.objects.exists()
    assert saved in offered.appointment_types_for_customer(customer=customer)


def test_saving_a_type_flg_does_not_know_warns_and_customers_never_see_it(
    staff, sandbox, customer, customer_client
):
    response = add_type(staff, UNKNOWN_ID)

    (warning,) = flg_messages(response)
    assert warning.startswith(
        f"Kitchen visit: FLG 360 does not know the id {UNKNOWN_ID}, so customers are not "
        "offered this type."
    )
    assert 'This is the demo: "Add it to the sandbox"' in warning
    saved = AppointmentType.objects.get(flg_id=UNKNOWN_ID)
    assert saved.flg_check == FlgCheck.UNKNOWN
    assert "could not be found" in saved.flg_check_note
    assert not sandbox_models.Session.objects.exists()
    assert saved not in offered.appointment_types_for_customer(customer=customer)
    home = customer_client.get("/")
    assert "Kitchen visit" not in home.content.decode()
    started = customer_client.post(reverse("session_start", kwargs={"slug": saved.slug}))
    assert started.status_code == 404
    assert sandbox.calls() == 2  # the two probes of the check, and no more


def test_when_flg_is_down_the_type_is_saved_and_staff_are_told_it_could_not_be_checked(
    staff, sandbox, known_in_sandbox, customer
):
    sandbox.fault("503")

    response = add_type(staff, known_in_sandbox)

    (warning,) = flg_messages(response)
    assert warning.startswith("Kitchen visit: saved, but the id could not be checked with FLG")
    assert "503" in warning
    saved = AppointmentType.objects.get(flg_id=known_in_sandbox)
    assert saved.flg_check == FlgCheck.NOT_CHECKED
    assert saved.flg_check_note.startswith("Could not check on ")
    # Not found unknown, so still offered: an outage never hides a type.
    assert saved in offered.appointment_types_for_customer(customer=customer)


def test_a_check_that_cannot_tell_keeps_the_last_verdict_for_the_same_id(sandbox, type_for_all):
    type_checks.appointment_type_check(appointment_type=type_for_all, id_changed=True)
    type_for_all.refresh_from_db()
    assert type_for_all.flg_check == FlgCheck.UNKNOWN  # the sandbox has no types yet

    sandbox.fault("503")
    checked = type_checks.appointment_type_check(appointment_type=type_for_all, id_changed=False)

    assert checked.found is None
    type_for_all.refresh_from_db()
    assert type_for_all.flg_check == FlgCheck.UNKNOWN


def test_the_list_action_checks_many_types_at_once(staff, sandbox, type_for_all, inactive_type):
    sandbox.mirror()
    sandbox_models.AppointmentType.objects.filter(pk=inactive_type.flg_id).delete()
    response = staff.post(
        reverse("admin:appointments_appointmenttype_changelist"),
        {"action": "check_with_flg", "_selected_action": [type_for_all.pk, inactive_type.pk]},
        follow=True,
    )
    said = " ".join(messages_of(response))
    assert "Initial consultation: FLG 360 knows its id." in said
    assert "Winter check: FLG 360 does not know the id" in said
    assert not sandbox_models.Session.objects.exists()


def test_editing_the_list_columns_checks_nothing(staff, sandbox, type_for_all):
    response = staff.post(
        reverse("admin:appointments_appointmenttype_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(type_for_all.pk),
            "form-0-is_active": "on",
            "form-0-sort_order": "3",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert sandbox.calls() == 0


def test_a_flg_that_words_every_refusal_alike_leaves_the_type_unjudged(recorder, db):
    generic = (
        b'{"message": "The appointment type or lead were not specified or could not be found."}'
    )
    server = recorder(lambda s, r: (400, {"content-type": "application/json"}, generic))

    checked = connection.type_check(appointment_type=UNKNOWN_ID)

    assert checked.verdict == connection.UNDECIDED
    assert "does not say whether it knows" in checked.summary
    # Two probes, each with a lead FLG can never hold: no session could come of them.
    bodies = [json.loads(request["body"]) for request in server.requests]
    assert [body["lead"] for body in bodies] == ["portal-type-check"] * 2
    assert bodies[1]["appointmentType"] == str(UNKNOWN_ID)


def test_in_demo_mode_the_check_creates_no_lead_and_no_session(sandbox, known_in_sandbox, settings):
    settings.FLG_SANDBOX_AUTO_LEADS = True  # the demo learns leads on first use, digits only
    checked = connection.type_check(appointment_type=known_in_sandbox)
    assert checked.verdict == connection.KNOWN
    assert not sandbox_models.Lead.objects.exists()
    assert not sandbox_models.Session.objects.exists()
