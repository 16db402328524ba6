"""Demo mode (FLG_SANDBOX_AUTO_LEADS): the sandbox meets a lead it does not know by creating it.

Every customer a newcomer adds (by hand, by import, by invitation) can then book in the demo.
Off, the sandbox answers as FLG 360 does: an unknown lead is refused.
"""

from __future__ import annotations

import json
import uuid

import pytest

from flg_sandbox.models import AccessKey, AppointmentType, Lead

pytestmark = pytest.mark.django_db

API = "/sandbox/api/v2/appointment-sessions"
TYPE_ALL = "39594a1c-72db-4990-a63f-8d5139a5e4e1"
TYPE_GROUP_7 = "4da80d92-e6fb-432e-a631-aea2b1e97a05"
TYPE_GROUP_8 = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"


@pytest.fixture(autouse=True)
def flg_data(db):
    AccessKey.objects.create(key="good-key", allow_appointments=True)
    AppointmentType.objects.create(id=uuid.UUID(TYPE_ALL), name="For all", lead_group_id=None)
    AppointmentType.objects.create(id=uuid.UUID(TYPE_GROUP_7), name="Group 7", lead_group_id=7)
    AppointmentType.objects.create(id=uuid.UUID(TYPE_GROUP_8), name="Group 8", lead_group_id=8)


def post(client, lead, appointment_type, key="good-key"):
    return client.post(
        API,
        data=json.dumps({"lead": lead, "appointmentType": appointment_type}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_it_creates_an_unknown_lead_in_the_group_of_the_type_asked_for(client, settings):
    settings.FLG_SANDBOX_AUTO_LEADS = True
    response = post(client, "555", TYPE_GROUP_7)
    assert response.status_code == 200
    assert response.json()["lead"] == "555"
    lead = Lead.objects.get(lead_id="555")
    assert lead.lead_group_id == 7
    assert lead.name == "Created on first use"


def test_a_lead_first_seen_on_a_type_for_all_joins_a_group_later(client, settings):
    settings.FLG_SANDBOX_AUTO_LEADS = True
    assert post(client, "556", TYPE_ALL).status_code == 200
    assert Lead.objects.get(lead_id="556").lead_group_id is None
    assert post(client, "556", TYPE_GROUP_8).status_code == 200
    assert Lead.objects.get(lead_id="556").lead_group_id == 8


def test_once_in_a_group_the_lead_is_held_to_it_as_flg_would(client, settings):
    settings.FLG_SANDBOX_AUTO_LEADS = True
    assert post(client, "557", TYPE_GROUP_7).status_code == 200
    refused = post(client, "557", TYPE_GROUP_8)
    assert refused.status_code == 400
    assert "lead group" in refused.json()["message"]


def test_the_order_of_checks_stays_flgs(client, settings):
    settings.FLG_SANDBOX_AUTO_LEADS = True
    assert post(client, "558", TYPE_ALL, key="wrong").status_code == 401
    unknown_type = post(client, "558", str(uuid.uuid4()))
    assert unknown_type.status_code == 400
    assert not Lead.objects.filter(lead_id="558").exists()


def test_off_an_unknown_lead_is_refused_as_flg_does(client, settings):
    settings.FLG_SANDBOX_AUTO_LEADS = False
    response = post(client, "559", TYPE_ALL)
    assert response.status_code == 400
    assert response.json()["message"] == "The lead could not be found."
    assert not Lead.objects.filter(lead_id="559").exists()
