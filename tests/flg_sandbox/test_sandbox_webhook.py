"""The sandbox plays FLG's side of the lead webhook: a lead saved there becomes a portal customer
through real HTTP, exactly as FLG 360 would post it, and that customer can then book."""

from __future__ import annotations

import socket
from urllib.parse import urlencode

import pytest
from django.test import Client

from appointments.models import Customer, LeadDelivery
from flg import webhooks
from flg_sandbox import services
from flg_sandbox.models import Lead
from flg_sandbox.models import Session as SandboxSession

TOKEN = "Sb7Kq2Wm9Xr4Tn1Vz6Hc3Jd8Fg5Lp0Ay-sandbox"
ADD = "/admin/flg_sandbox/lead/add/"
NEW_LEAD = {
    "lead_id": "200300400",
    "title": "Ms",
    "first_name": "Nina",
    "last_name": "Newcomer",
    "name": "",
    "email": "Nina@Example.com",
    "lead_group_id": "101",
    "lead_group_name": "Homeowners",
    "status": "Received",
}


@pytest.fixture
def wired(sandbox, settings, live_server):
    """The portal's webhook switched on, and the sandbox posting to it over real HTTP."""
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]
    settings.FLG_SANDBOX_WEBHOOK_URL = f"{live_server.url}/flg/webhooks/leads/{TOKEN}/"
    return sandbox


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_saving_a_lead_in_the_sandbox_makes_a_portal_customer_who_can_then_book(
    wired, staff, type_for_all
):
    wired.mirror()
    response = staff.post(ADD, NEW_LEAD, follow=True)
    assert response.status_code == 200
    assert Lead.objects.filter(lead_id="200300400").exists()
    host = wired.url.removeprefix("http://")
    assert f"Lead 200300400: the webhook to {host} answered 200 (created)." in messages_of(response)
    customer = Customer.objects.select_related("user", "lead_group").get(lead_id="200300400")
    # Kept as FLG sent it, signing in with the normalised form (accounts.services).
    user = customer.user
    assert (user.email, user.username, user.first_name) == (
        "Nina@Example.com",
        "nina@example.com",
        "Nina",
    )
    assert (customer.lead_group.flg_id, customer.flg_status) == (101, "Received")
    assert LeadDelivery.objects.get().outcome == "created"

    booking = Client()
    booking.force_login(customer.user)
    start = booking.post("/book/initial-consultation/")
    assert start.status_code == 303
    page = booking.get(start["Location"])
    assert page.status_code == 200
    assert wired.calls() == 1
    assert SandboxSession.objects.get().lead.lead_id == "200300400"


def test_changing_the_lead_in_the_sandbox_updates_the_customer(wired, staff):
    staff.post(ADD, NEW_LEAD)
    lead = Lead.objects.get(lead_id="200300400")
    changed = {**NEW_LEAD, "last_name": "Married", "status": "Quoted"}
    response = staff.post(f"/admin/flg_sandbox/lead/{lead.pk}/change/", changed, follow=True)
    assert any("answered 200 (updated)" in m for m in messages_of(response))
    customer = Customer.objects.select_related("user").get(lead_id="200300400")
    assert (customer.user.last_name, customer.flg_status) == ("Married", "Quoted")


def test_the_send_webhook_action_posts_the_selected_leads_again(wired, staff):
    staff.post(ADD, NEW_LEAD)
    lead = Lead.objects.get(lead_id="200300400")
    response = staff.post(
        "/admin/flg_sandbox/lead/",
        {"action": "send_webhook", "_selected_action": [lead.pk]},
        follow=True,
    )
    assert any("answered 200 (unchanged)" in m for m in messages_of(response))
    assert LeadDelivery.objects.count() == 2


def test_a_lead_without_an_email_is_saved_and_the_portal_skips_it(wired, staff):
    response = staff.post(ADD, {**NEW_LEAD, "email": ""}, follow=True)
    assert Lead.objects.filter(lead_id="200300400").exists()
    assert any("answered 200 (skipped: No valid email address" in m for m in messages_of(response))
    assert not Customer.objects.exists()


def test_a_portal_that_cannot_be_reached_is_reported_and_the_lead_is_still_saved(
    sandbox, staff, settings
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.FLG_SANDBOX_WEBHOOK_URL = f"http://127.0.0.1:{port}/flg/webhooks/leads/{TOKEN}/"
    response = staff.post(ADD, NEW_LEAD, follow=True)
    assert response.status_code == 200
    assert Lead.objects.filter(lead_id="200300400").exists()
    [failure] = [m for m in messages_of(response) if "webhook" in m]
    assert failure == f"Lead 200300400: the webhook to 127.0.0.1:{port} failed (ConnectionError)."
    assert TOKEN not in failure


def test_a_wrong_token_is_reported_as_the_portals_404(wired, staff, settings):
    settings.FLG_WEBHOOK_TOKENS = ["another-token-entirely-0123456789abcdef"]
    response = staff.post(ADD, NEW_LEAD, follow=True)
    assert any("answered 404" in m for m in messages_of(response))
    assert not Customer.objects.exists()


def test_without_a_webhook_url_saving_a_lead_posts_nothing(sandbox, staff, settings):
    settings.FLG_SANDBOX_WEBHOOK_URL = ""
    response = staff.post(ADD, NEW_LEAD, follow=True)
    assert Lead.objects.filter(lead_id="200300400").exists()
    assert not any("webhook" in m for m in messages_of(response))
    assert not LeadDelivery.objects.exists()


def test_the_sandbox_sends_every_field_flg_documents_under_flgs_names(db):
    lead = Lead(**{**NEW_LEAD, "lead_group_id": 101})
    fields = services.lead_webhook_fields(lead=lead)
    assert list(fields) == list(webhooks.DOCUMENTED_FIELDS)
    assert fields["id"] == "200300400"
    assert (fields["firstname"], fields["lastname"], fields["fullname"]) == (
        "Nina",
        "Newcomer",
        "Nina Newcomer",
    )
    assert (fields["leadgroupid"], fields["leadgroupname"]) == ("101", "Homeowners")
    assert (fields["email"], fields["status"], fields["title"]) == (
        "Nina@Example.com",
        "Received",
        "Ms",
    )
    assert fields["address"] == fields["phone1"] == fields["dob"] == ""


def test_what_the_sandbox_sends_the_portal_reads_as_flgs_lead(db):
    lead = Lead(**{**NEW_LEAD, "lead_group_id": 101})
    # Form-encoded as requests encodes `data=` on the wire.
    body = urlencode(services.lead_webhook_fields(lead=lead)).encode()
    delivery = webhooks.payload_parse(body)
    assert (delivery.lead_id, delivery.email, delivery.lead_group_id) == (
        "200300400",
        "Nina@Example.com",
        101,
    )
