"""Email texts staff edit: checked on save, used at send time, links kept by the portal."""

from __future__ import annotations

import pytest
from django.core import mail

from business.models import EmailText
from tests.accounts.test_sign_in_links import ask_for_link, continue_, emailed_link

LIST_URL = "/admin/business/emailtext/"
ADD_URL = LIST_URL + "add/?kind=sign_in_link"
MY_WORDS = (
    "Hi {% if first_name %}{{ first_name }}{% else %}there{% endif %} <b>friend</b>,\n\n"
    "Tap this to come in to {{ portal_name }}:\n{{ link }}\n\n"
    "It lasts {{ minutes }} minutes.\n"
)


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def save(staff, *, subject="Come in to {{ portal_name }}", body=MY_WORDS, url=ADD_URL):
    return staff.post(url, {"kind": "sign_in_link", "subject": subject, "body": body})


def test_the_list_names_every_email_and_whose_words_it_sends(staff):
    page = staff.get(LIST_URL).content.decode()
    for label in ["Sign-in link", "Invitation", "Password reset", "Email address changed"]:
        assert label in page
    assert "Your own wording" not in page


def test_the_editor_starts_from_the_shipped_text_with_placeholders_and_a_preview(staff):
    page = staff.get(ADD_URL).content.decode()
    assert "Your sign-in link for {{ portal_name }}" in page
    assert "{{ link }}</code> <strong>(required)</strong>" in page
    assert "the one-time sign-in link (required)" in page
    # The preview fills in made-up values, never a real link.
    assert "Your sign-in link for Acme Bookings" in page
    assert "/example-link-not-valid/" in page


def test_the_next_sign_in_email_uses_staff_s_words_and_the_portal_s_link(staff, client, customer):
    assert save(staff).status_code == 302
    ask_for_link(client, "casey@example.com")
    message = mail.outbox[-1]
    assert message.subject == "Come in to Acme Bookings"
    assert message.body.startswith(
        "Hi Casey <b>friend</b>,\n\nTap this to come in to Acme Bookings:"
    )
    html = message.alternatives[0][0]
    # Staff's text is escaped in the HTML part; the only anchors are the portal's: the link,
    # and the privacy notice's the portal adds at the end of every email.
    assert "&lt;b&gt;friend&lt;/b&gt;" in html and "<b>" not in html
    link = emailed_link(message)
    assert f'<a href="http://testserver{link}">http://testserver{link}</a>' in html
    assert html.count("<a ") == 2 and '<a href="http://testserver/privacy/">' in html
    assert message.body.endswith("How we use your data: http://testserver/privacy/\n")
    # And the link signs the customer in.
    assert continue_(client, link).status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hello {% if first_name %}\n{{ link }}", "This template has an error: Unclosed tag"),
        ("{% load static %}{{ link }}", "This template has an error: Invalid block tag"),
        ('{% include "base.html" %}{{ link }}', "This template has an error: Invalid block tag"),
        (
            "{{ link|safe }} {{ link }}",
            "This template has an error: Invalid filter: &#x27;safe&#x27;",
        ),
        ("{{ lnk }} {{ link }}", "Unknown placeholder(s): {{ lnk }}"),
        ("Ask us for a link.", "The body must keep {{ link }}"),
    ],
)
def test_a_text_that_would_fail_or_lose_the_link_is_refused_on_save(staff, body, message):
    response = save(staff, body=body)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EmailText.objects.exists()


def test_a_subject_with_an_error_is_refused_too(staff):
    response = save(staff, subject="Hello {% if portal_name %}")
    assert "This template has an error" in response.content.decode()
    assert not EmailText.objects.exists()


def test_send_me_a_test_mails_the_staff_member_the_saved_text_with_made_up_values(staff):
    save(staff)
    text = EmailText.objects.get()
    response = staff.post(f"{LIST_URL}{text.pk}/send-test/", follow=True)
    assert (
        "A test of the saved text is on its way to b•••@example.com." in response.content.decode()
    )
    message = mail.outbox[-1]
    assert message.to == ["boss@example.com"]
    assert message.subject == "[Test] Come in to Acme Bookings"
    assert "Hi Sam <b>friend</b>" in message.body
    assert "/example-link-not-valid/" in message.body


def test_reset_to_the_original_sends_the_shipped_text_again(staff, client, customer):
    save(staff)
    text = EmailText.objects.get()
    response = staff.post(f"{LIST_URL}{text.pk}/reset/", follow=True)
    assert "Sign-in link: the original text is sent again." in response.content.decode()
    assert not EmailText.objects.exists()
    ask_for_link(client, "casey@example.com")
    assert mail.outbox[-1].subject == "Your sign-in link for Acme Bookings"


def test_the_sender_name_staff_chose_is_on_every_email(staff, client, customer, settings):
    from tests.business.test_brand import SETTINGS_URL, form

    settings.DEFAULT_FROM_EMAIL = "bookings@example.com"
    staff.post(SETTINGS_URL, form(email_sender_name="Harbour Dental"))
    ask_for_link(client, "casey@example.com")
    assert mail.outbox[-1].from_email == "Harbour Dental <bookings@example.com>"


def test_every_shipped_text_passes_the_checks_staff_s_text_must_pass():
    from business import emails

    assert {spec.name for spec in emails.kinds_all()} >= {
        "sign_in_link",
        "invite",
        "password_reset",
        "email_changed",
    }
    for spec in emails.kinds_all():
        subject, body = emails.shipped_text(spec)
        emails.text_check(kind=spec.name, subject=subject, body=body)


def test_a_loop_is_refused_there_is_nothing_to_loop_over(staff):
    response = save(
        staff, body="{% for c in link %}{% for d in link %}.{% endfor %}{% endfor %}{{ link }}"
    )
    assert "This template has an error: Invalid block tag" in response.content.decode()


def test_a_text_saved_before_a_stricter_check_still_sends_the_shipped_words(client, customer, db):
    EmailText.objects.create(kind="sign_in_link", subject="Hi", body="{% bogus %}{{ link }}")
    ask_for_link(client, "casey@example.com")
    assert mail.outbox[-1].subject == "Your sign-in link for Acme Bookings"
