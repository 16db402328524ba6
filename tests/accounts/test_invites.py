"""Invitations: imported customers choose a password from an emailed link and are signed in."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Customer

HEADER = "email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"
GOOD = (
    HEADER
    + "ann@example.com,Ann,Archer,111,101,Homeowners\n"
    + "bob@example.com,Bob,Baker,112,101,\n"
)
NEW_PASSWORD = "ann-chooses-a-phrase-9"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"


def import_file(tmp_path, text=GOOD, *args):
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_customers", str(path), "--send-invites", *args, stdout=out)
    return out.getvalue()


def link_in(message):
    found = re.search(
        r"https://book\.example\.com(/accounts/invite/[^/\s]+/[^/\s]+/)", message.body
    )
    assert found, message.body
    return found[1]


def mail_to(address):
    return next(m for m in mail.outbox if m.to == [address])


def choose_password(client, link, password=NEW_PASSWORD):
    page = client.get(link, follow=True)
    assert "Welcome: choose a password" in page.content.decode()
    return client.post(
        page.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
        follow=True,
    )


@pytest.mark.django_db
def test_each_new_customer_is_emailed_an_invitation(tmp_path):
    out = import_file(tmp_path)
    assert "Invitations queued: 2" in out
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bob@example.com"]
    message = mail_to("ann@example.com")
    assert message.subject == "Book your appointments online with Acme Bookings"
    assert message.from_email == "bookings@example.com"
    assert message.body.startswith("Hello Ann,")
    assert "help@acme.example or 0161 496 0000" in message.body
    assert "for 3 days" in message.body
    assert "https://book.example.com/accounts/invite/new/" in message.body
    assert link_in(message)


@pytest.mark.django_db
def test_the_link_sets_a_password_and_signs_the_customer_in(tmp_path):
    import_file(tmp_path)
    client = Client()
    done = choose_password(client, link_in(mail_to("ann@example.com")))
    assert done.redirect_chain[-1][0] == reverse("home")
    assert done.context["user"].email == "ann@example.com"
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "Signed in as <strong>ann@example.com</strong>" in home.content.decode()
    assert "Book an appointment" in home.content.decode()
    # The password works for signing in later.
    again = Client().post(
        reverse("login"), {"username": "Ann@example.com", "password": NEW_PASSWORD}
    )
    assert again.status_code == 302 and again["Location"] == reverse("home")


@pytest.mark.django_db
def test_the_link_works_once(tmp_path):
    import_file(tmp_path)
    link = link_in(mail_to("ann@example.com"))
    choose_password(Client(), link)
    again = Client().get(link, follow=True).content.decode()
    assert "This invitation link has expired" in again
    assert "Welcome: choose a password" not in again


@pytest.mark.django_db
def test_an_expired_link_offers_a_new_one(tmp_path):
    import_file(tmp_path)
    link = link_in(mail_to("ann@example.com"))
    with time_machine.travel(timezone.now() + dt.timedelta(days=4)):
        page = Client().get(link, follow=True).content.decode()
    assert "This invitation link has expired" in page
    assert reverse("invite_renew") in page


@pytest.mark.django_db
def test_a_customer_whose_link_expired_gets_a_new_one_that_works(tmp_path):
    import_file(tmp_path)
    mail.outbox.clear()
    client = Client()
    response = client.post(reverse("invite_renew"), {"email": "ANN@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    # Django's own "Forgotten your password?" skips accounts without a usable password,
    # which is why invitations are renewed by their own form.
    invite = r"https://book\.example\.com(/accounts/invite/[^/\s]+/[^/\s]+/)"
    link = re.search(invite, message.body)[1]
    done = choose_password(client, link)
    assert done.context["user"].email == "ann@example.com"


@pytest.mark.django_db
def test_asking_for_an_invitation_for_an_unknown_email_sends_nothing_and_says_the_same(db):
    response = Client().post(reverse("invite_renew"), {"email": "who@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_rerun_invites_nobody_again(tmp_path):
    import_file(tmp_path)
    mail.outbox.clear()
    out = import_file(tmp_path)
    assert "Invitations queued: 0" in out
    assert mail.outbox == []


@pytest.mark.django_db
def test_without_the_option_nobody_is_emailed(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(GOOD, encoding="utf-8")
    call_command("import_customers", str(path), stdout=io.StringIO())
    assert mail.outbox == []
    assert Customer.objects.count() == 2


# --- From the admin -------------------------------------------------------------------------


def test_the_admin_import_sends_invitations_when_asked(staff):
    data = {"file": io.BytesIO(GOOD.encode()), "send_invites": "on"}
    data["file"].name = "customers.csv"
    page = staff.post(reverse("admin:appointments_customer_import"), data).content.decode()
    assert "New customers will be emailed an invitation" in page
    payload = re.search(r'name="payload" value="([^"]+)"', page)[1]
    done = staff.post(
        reverse("admin:appointments_customer_import"), {"payload": payload}, follow=True
    )
    assert "2 invitation(s) queued" in done.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bob@example.com"]
    link = re.search(
        r"https://book.example.com(/accounts/invite/\S+/)", mail_to("bob@example.com").body
    )
    assert choose_password(Client(), link[1]).context["user"].email == "bob@example.com"


def test_staff_invite_a_customer_from_the_customer_list(staff, customer):
    response = staff.post(
        reverse("admin:appointments_customer_changelist"),
        {"action": "send_invitations", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert "1 invitation(s) queued" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["casey@example.com"]
