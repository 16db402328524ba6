"""Staff see the lead webhook: its URL for FLG (token hidden until asked), FLG's steps, the
deliveries and what they did, and whether it is configured at all."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client

from appointments.models import LeadDelivery
from tests.conftest import staff_sign_in

pytestmark = pytest.mark.django_db

TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-new"
PAGE = "/admin/appointments/appointmenttype/flg-webhook/"


@pytest.fixture
def configured(settings):
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]


def test_the_type_list_links_to_the_webhook_page(staff, configured):
    page = staff.get("/admin/appointments/appointmenttype/").content.decode()
    assert PAGE in page and "FLG lead webhook" in page


def test_the_webhook_page_shows_the_url_with_the_token_hidden_and_flgs_steps(staff, configured):
    response = staff.get(PAGE)
    text = response.content.decode()
    assert response.status_code == 200
    assert TOKEN not in text
    assert "http://testserver/flg/webhooks/leads/••••••••••••/" in text
    assert "Show the full URL" in text
    assert "Settings &gt; Lead Groups &gt; Lead Types" in text
    assert "Add New Action" in text and "Webhook" in text
    assert "no-store" in response["Cache-Control"]


def test_asking_shows_the_full_url_to_paste_into_flg(staff, configured):
    text = staff.post(PAGE, {"reveal": "1"}).content.decode()
    assert f"http://testserver/flg/webhooks/leads/{TOKEN}/" in text


def test_staff_who_may_not_change_customers_never_see_the_token(configured):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            codename="view_appointmenttype", content_type__app_label="appointments"
        )
    )
    client = Client()
    staff_sign_in(client, user)
    text = client.post(PAGE, {"reveal": "1"}).content.decode()
    assert TOKEN not in text
    assert "Only staff who may change customers can see the full URL." in text


def test_during_a_change_over_the_page_gives_the_new_token_and_says_so(staff, settings):
    settings.FLG_WEBHOOK_TOKENS = [TOKEN, "Pq8Wn2Rt6Yb0Vc4Xm1Lk9Jh3Gf7Ds5A-old"]
    text = staff.post(PAGE, {"reveal": "1"}).content.decode()
    assert f"/flg/webhooks/leads/{TOKEN}/" in text and "-old" not in text
    assert "two tokens" in text


def test_without_a_token_the_page_says_how_to_switch_it_on(staff, settings):
    settings.FLG_WEBHOOK_TOKENS = []
    text = staff.get(PAGE).content.decode()
    assert "FLG_WEBHOOK_TOKEN is not set" in text
    assert "secrets.token_urlsafe(32)" in text


def test_deliveries_are_listed_and_filter_by_outcome(staff, customer):
    LeadDelivery.objects.create(lead_id="108123759", outcome="updated", customer=customer)
    LeadDelivery.objects.create(
        lead_id="555", outcome="conflict", reason="The email address belongs to another."
    )
    everything = staff.get("/admin/appointments/leaddelivery/").content.decode()
    assert "108123759" in everything and "555" in everything
    conflicts = staff.get("/admin/appointments/leaddelivery/?outcome__exact=conflict")
    text = conflicts.content.decode()
    assert "The email address belongs to another." in text and "108123759" not in text


def test_a_customers_page_shows_their_recent_deliveries_and_status(staff, customer):
    customer.flg_status = "Quoted"
    customer.save()
    LeadDelivery.objects.create(
        lead_id=customer.lead_id,
        outcome="updated",
        changed="lead group",
        customer=customer,
        source="203.0.113.9",
    )
    text = staff.get(f"/admin/appointments/customer/{customer.pk}/change/").content.decode()
    assert "Last 10 deliveries from FLG" in text
    assert "lead group" in text and "203.0.113.9" in text
    assert 'value="Quoted"' in text


def test_deliveries_are_read_only(staff, customer):
    record = LeadDelivery.objects.create(lead_id="1", outcome="skipped")
    assert staff.get("/admin/appointments/leaddelivery/add/").status_code == 403
    change = staff.post(f"/admin/appointments/leaddelivery/{record.pk}/change/", {"reason": "x"})
    record.refresh_from_db()
    assert change.status_code == 403 or record.reason == ""


def test_check_flg_connection_also_says_whether_the_webhook_is_configured(
    staff, sandbox, configured
):
    response = staff.post("/admin/appointments/appointmenttype/check-flg/", follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("FLG connection works") for m in messages)
    assert "Lead webhook configured at /flg/webhooks/leads/[token]/; no delivery received yet." in (
        messages
    )
    assert not any(TOKEN in m for m in messages)


def test_check_flg_connection_warns_when_the_webhook_is_not_configured(staff, sandbox, settings):
    settings.FLG_WEBHOOK_TOKENS = []
    response = staff.post("/admin/appointments/appointmenttype/check-flg/", follow=True)
    assert any("Lead webhook not configured" in str(m) for m in response.context["messages"])


def test_flg_check_reports_the_webhook(sandbox, configured):
    LeadDelivery.objects.create(lead_id="42", outcome="created")
    out = io.StringIO()
    call_command("flg_check", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("Webhook:"))
    assert "Lead webhook configured at /flg/webhooks/leads/[token]/" in line
    assert "(lead 42, Created)" in line
    assert TOKEN not in out.getvalue()


def test_flg_check_says_when_the_webhook_is_off(sandbox, settings):
    settings.FLG_WEBHOOK_TOKENS = []
    out = io.StringIO()
    call_command("flg_check", stdout=out)
    assert "Webhook:        Lead webhook not configured" in out.getvalue()
