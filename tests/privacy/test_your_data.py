"""The customer's own page: what we hold, a copy to download, and deleting the account."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.test import Client

from accounts import links
from appointments.models import Customer
from privacy import audit
from privacy.models import Erasure
from tests.conftest import PASSWORD
from tests.privacy.conftest import EMAIL, FIRST, LEAD, seed_person


@pytest.fixture
def seeded(boss, type_for_all):
    return seed_person(staff_user=boss, appointment_type=type_for_all)


def test_every_page_links_the_privacy_notice_and_it_says_how_long(client, db):
    home = client.get("/accounts/login/").content.decode()
    assert 'href="/privacy/"' in home
    notice = client.get("/privacy/")
    text = " ".join(notice.content.decode().split())
    assert notice.status_code == 200
    assert "sign-in records after 30 days" in text and "3 years" in text
    assert "FLG 360 keeps its own records" in text


def test_the_notice_shows_the_text_staff_wrote_when_the_settings_give_one(rf, db):
    from django.template.loader import render_to_string

    html = render_to_string("privacy/notice.html", {"privacy_notice": "Our own words."})
    assert "Our own words." in html and "What we hold" not in html


def test_the_account_menu_offers_your_data(seeded):
    page = seeded.client.get("/").content.decode()
    assert 'href="/your-data/"' in page
    data = seeded.client.get("/your-data/").content.decode()
    assert "Download my data" in data and "Delete my account" in data
    assert "FLG 360" in data and "keeps its own records" in data


def test_the_download_holds_every_part_with_what_it_is(seeded):
    response = seeded.client.post("/your-data/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    data = json.loads(response.content)
    assert set(data["about"]) <= set(data)
    assert data["account"]["email"] == EMAIL and data["account"]["first_name"] == FIRST
    assert data["customer"]["flg_lead_id"] == LEAD
    assert len(data["booking_sessions"]) == 2
    assert data["booking_sessions"][0]["booked_reported"] is not None
    assert data["flg_failures"][0]["what_we_told_you"].startswith("We could not")
    assert data["lead_deliveries"][0]["outcome"] == "created"
    assert {e["kind"] for e in data["emails"]} == {"invite", "email_changed"}
    assert {s["outcome"] for s in data["sign_ins"]} >= {"signed in", "wrong password"}
    assert any(c["by"] == "staff" and "last_name" in c["what"] for c in data["changes"])
    # No secret: no password hash, no booking screen's address.
    assert "pbkdf2" not in response.content.decode() and "platform.getflg.com" not in str(data)
    entry = LogEntry.objects.get(additional_data__event=audit.DATA_DOWNLOADED)
    assert entry.actor == seeded.customer.user


def test_a_session_from_a_booking_link_is_asked_to_sign_in_properly(seeded):
    session = seeded.client.session
    session[links.BOOKING_ONLY] = True
    session.save()
    response = seeded.client.get("/your-data/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_staff_have_no_your_data_page(boss):
    from tests.conftest import staff_sign_in

    staff = staff_sign_in(Client(), boss)
    assert 'href="/your-data/"' not in staff.get("/privacy/").content.decode()
    assert "not linked" in staff.get("/your-data/").content.decode().lower()


def test_deleting_with_the_password_erases_and_signs_out(seeded):
    response = seeded.client.post("/your-data/delete/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/your-data/delete/done/"
    done = seeded.client.get(response["Location"]).content.decode()
    assert "Your account is deleted" in done and "keeps its own records" in done
    customer = Customer.objects.select_related("user").get(pk=seeded.customer.pk)
    assert customer.erased_at is not None and customer.user.email == ""
    erased = Erasure.objects.get()
    # Staff see it: an erasure record in the admin, the customer's own doing.
    assert (erased.reason, erased.by) == ("customer", None)
    assert seeded.client.get("/").status_code == 302


def test_a_wrong_password_deletes_nothing_and_says_so(seeded):
    response = seeded.client.post("/your-data/delete/", {"password": "not-it-123"})
    assert response.status_code == 200
    assert "That is not your password" in response.content.decode()
    assert Customer.objects.get(pk=seeded.customer.pk).erased_at is None


def test_deleting_by_an_emailed_link(seeded):
    mail.outbox.clear()
    response = seeded.client.post("/your-data/delete/email/", follow=True)
    assert "We have emailed you a link" in response.content.decode()
    [email] = mail.outbox
    assert email.to == [EMAIL] and "FLG 360" in email.body and "/privacy/" in email.body
    link = urlsplit(re.search(r"http://\S+/your-data/delete/link/\S+/", email.body)[0]).path
    # Opened anywhere, even signed out: the token moves to the session, the page asks.
    other = Client()
    opened = other.get(link)
    assert opened.status_code == 302 and opened["Referrer-Policy"] == "no-referrer"
    page = other.get(opened["Location"])
    assert "Delete my account" in page.content.decode()
    assert Customer.objects.get(pk=seeded.customer.pk).erased_at is None
    assert other.post(opened["Location"]).status_code == 302
    assert Customer.objects.get(pk=seeded.customer.pk).erased_at is not None
    # Spent: the account it was for no longer exists.
    again = Client()
    again.get(link)
    assert again.get("/your-data/delete/confirm/").status_code == 410


def test_every_email_links_the_privacy_notice(seeded):
    from accounts import invites

    mail.outbox.clear()
    invites.invites_send(users=[seeded.customer.user])
    [email] = mail.outbox
    assert "/privacy/" in email.body
    assert "/privacy/" in email.alternatives[0][0]


def test_wrong_passwords_on_the_delete_form_end_in_the_lockout_page_not_an_error(seeded, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = seeded.client.post("/your-data/delete/", {"password": "not-it-123"})
        assert response.status_code in {200, 429}
    assert response.status_code == 429
    assert Customer.objects.get(pk=seeded.customer.pk).erased_at is None


def test_the_notice_is_staffs_text_from_the_portal_settings_and_its_change_is_audited(client, boss):
    from auditlog.context import set_actor

    from business.models import PortalSettings

    row = PortalSettings.get_solo()
    with set_actor(boss):
        row.privacy_notice = "We keep your bookings for a year.\n\nAsk us anything."
        row.save()
    page = client.get("/privacy/").content.decode()
    assert "We keep your bookings for a year." in page and "What we hold" not in page
    # get_solo() created the row (an entry of its own), then staff changed it.
    entry = LogEntry.objects.get_for_object(row).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == boss and "privacy_notice" in entry.changes_dict


def test_staffs_own_notice_address_is_linked_from_pages_and_emails(seeded):
    from accounts import invites
    from business.models import PortalSettings

    row = PortalSettings.get_solo()
    row.privacy_notice_url = "https://example.com/our-privacy"
    row.save()
    assert 'href="https://example.com/our-privacy"' in seeded.client.get("/").content.decode()
    mail.outbox.clear()
    invites.invites_send(users=[seeded.customer.user])
    assert mail.outbox[0].body.endswith("How we use your data: https://example.com/our-privacy\n")
