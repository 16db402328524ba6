"""FLG checks from the admin, against the sandbox over real HTTP in each fault mode."""

from __future__ import annotations

import pytest
from django.contrib import messages as django_messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from appointments.models import AppointmentSession, FlgFailure
from tests.conftest import staff_sign_in

TYPES_URL = "admin:appointments_appointmenttype_changelist"
CHECK_URL = "admin:appointments_appointmenttype_check_flg"
SECRET_KEY_VALUE = "sk-wrong-7d1e9a0c3b"


@pytest.fixture
def flg_ready(sandbox, customer, type_for_all, type_for_homeowners):
    sandbox.mirror()
    return sandbox


def shown(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in response.context["messages"]]


# --- Check FLG connection -------------------------------------------------------------------


def check_flg(client):
    """The connection's message; the webhook's own line is tested with the webhook."""
    messages = shown(client.post(reverse(CHECK_URL), follow=True))
    return [(level, text) for level, text in messages if not text.startswith("Lead webhook")]


def test_the_type_list_offers_the_check(flg_ready, staff):
    page = staff.get(reverse(TYPES_URL)).content.decode()
    assert "Check FLG connection" in page
    assert reverse(CHECK_URL) in page


def test_check_flg_connection_succeeds_against_a_healthy_flg(flg_ready, staff):
    [(level, message)] = check_flg(staff)
    assert level == django_messages.SUCCESS
    assert message.startswith("FLG connection works: FLG 360 accepted the access key")
    # The check proves the key without creating a session.
    assert not AppointmentSession.objects.exists()


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("503", "busy or unavailable (503)"),
        ("429", "busy or unavailable (429)"),
        ("500", "busy or unavailable (500)"),
        ("hang", "could not be reached"),
        ("malformed", "cannot conclude"),
        ("html", "cannot conclude"),
    ],
)
def test_check_flg_connection_reports_each_fault(flg_ready, staff, settings, mode, words):
    settings.FLG_TIMEOUT = 2
    flg_ready.fault(mode, hang_seconds=4)
    [(level, message)] = check_flg(staff)
    assert level == django_messages.ERROR
    assert message.startswith("FLG connection does not work")
    assert words in message


def test_check_flg_connection_reports_a_wrong_key_without_showing_it(flg_ready, staff, settings):
    settings.FLG_API_KEY = SECRET_KEY_VALUE
    [(level, message)] = check_flg(staff)
    assert level == django_messages.ERROR
    assert "access key is invalid (401)" in message
    assert "Access Keys" in message  # the advice: where to copy it from
    assert SECRET_KEY_VALUE not in message


def test_check_flg_connection_reports_a_key_without_appointments(flg_ready, staff, settings):
    settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    [(level, message)] = check_flg(staff)
    assert level == django_messages.ERROR
    assert "may not use Appointments (403)" in message
    assert "tick 'Allow access to Appointments'" in message


def test_check_flg_connection_says_when_nothing_is_configured(db, staff, settings):
    settings.FLG_API_KEY = ""
    [(level, message)] = check_flg(staff)
    assert level == django_messages.ERROR
    assert "FLG_API_KEY" in message


def test_the_check_is_a_post(db, staff):
    assert staff.get(reverse(CHECK_URL)).status_code == 403


# --- Verify types with FLG for a customer ---------------------------------------------------


def verify(client, types, customer_ref):
    url = reverse(TYPES_URL)
    data = {"action": "verify_with_flg", "_selected_action": [t.pk for t in types]}
    first = client.post(url, data)
    page = first.content.decode()
    assert "will <strong>create a real appointment session</strong>" in page
    assert "once for each of these appointment types" in page
    for t in types:
        assert str(t.flg_id) in page
    response = client.post(url, {**data, "confirm": "1", "customer": customer_ref}, follow=True)
    return shown(response)


def test_the_confirmation_page_creates_nothing(flg_ready, staff, type_for_all):
    url = reverse(TYPES_URL)
    staff.post(url, {"action": "verify_with_flg", "_selected_action": [type_for_all.pk]})
    assert flg_ready.calls() == 0
    assert not AppointmentSession.objects.exists()


def test_verify_creates_a_session_per_type_for_the_chosen_customer(
    flg_ready, staff, customer, type_for_all, type_for_homeowners
):
    results = verify(staff, [type_for_all, type_for_homeowners], "Casey@example.com")
    assert sorted(m.split(":")[0] for _, m in results) == ["Home survey", "Initial consultation"]
    for level, message in results:
        assert level == django_messages.SUCCESS
        assert "OK. FLG created a session for lead 108123759, open until" in message
    assert flg_ready.calls() == 2
    assert AppointmentSession.objects.filter(customer=customer).count() == 2


def test_verify_finds_the_customer_by_lead_id(flg_ready, staff, customer, type_for_all):
    [(level, _)] = verify(staff, [type_for_all], customer.lead_id)
    assert level == django_messages.SUCCESS


def test_verify_asks_again_for_an_unknown_customer(flg_ready, staff, type_for_all):
    url = reverse(TYPES_URL)
    data = {"action": "verify_with_flg", "_selected_action": [type_for_all.pk]}
    page = staff.post(url, {**data, "confirm": "1", "customer": "nobody@example.com"})
    assert "No customer has the email or lead id" in page.content.decode()
    assert flg_ready.calls() == 0


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("503", "(FLG unavailable). FLG is unavailable (503)"),
        ("hang", "(FLG unavailable). FLG did not answer within the 2 s budget"),
        ("malformed", "(Unusable answer from FLG). FLG answered 200 but the answer is not JSON"),
        ("html", "(Unusable answer from FLG)"),
        ("wrong key", "(Access key invalid (401))"),
    ],
)
def test_verify_reports_and_records_a_failure(
    flg_ready, staff, customer, type_for_all, settings, mode, words
):
    settings.FLG_TIMEOUT = 2
    if mode == "wrong key":
        settings.FLG_API_KEY = SECRET_KEY_VALUE
    else:
        flg_ready.fault(mode, hang_seconds=4)
    [(level, message)] = verify(staff, [type_for_all], customer.lead_id)
    assert level == django_messages.ERROR
    assert message.startswith("Initial consultation: FLG did not create a session ")
    assert words in message
    assert SECRET_KEY_VALUE not in message
    failure = FlgFailure.objects.get()
    assert (failure.action, failure.customer, failure.appointment_type) == (
        FlgFailure.Action.VERIFY,
        customer,
        type_for_all,
    )


def test_verify_shows_a_wrong_lead_group(flg_ready, staff, other_customer, type_for_homeowners):
    flg_ready.mirror()
    [(level, message)] = verify(staff, [type_for_homeowners], other_customer.lead_id)
    assert level == django_messages.ERROR
    assert "FLG refused the lead or type (400)" in message
    assert "lead's group may not match" in message
    assert FlgFailure.objects.get().code == "rejected"


def test_staff_who_may_only_view_types_are_not_offered_verify(flg_ready, type_for_all):
    user = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            codename="view_appointmenttype", content_type__app_label="appointments"
        )
    )
    client = Client()
    staff_sign_in(client, user)
    page = client.get(reverse(TYPES_URL)).content.decode()
    assert "verify_with_flg" not in page
    response = client.post(
        reverse(TYPES_URL),
        {
            "action": "verify_with_flg",
            "_selected_action": [type_for_all.pk],
            "confirm": "1",
            "customer": "casey@example.com",
        },
    )
    assert flg_ready.calls() == 0
    assert response.status_code in (200, 302)
    # They may still check the connection, which creates nothing.
    [(level, _)] = check_flg(client)
    assert level == django_messages.SUCCESS
