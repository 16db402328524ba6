"""Email through the real queue: requests queue ids, the worker makes, sends and retries."""

from __future__ import annotations

import datetime as dt
import json
import re
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError, transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import invites
from outbox.models import EmailRecord
from tests.outbox.conftest import drain

pytestmark = [pytest.mark.queue, pytest.mark.django_db]

LINK = re.compile(r"http://testserver(/accounts/login/link/\S+/)")


def ask_for_link(email, django_capture_on_commit_callbacks, next_url=""):
    with django_capture_on_commit_callbacks(execute=True):
        data = {"email": email, **({"next": next_url} if next_url else {})}
        response = Client().post("/accounts/login/link/", data)
    assert response.status_code == 302
    return response


def sign_in(link):
    person = Client()
    # The link moves its token into the session, then shows the button on a token-free page.
    page = person.get(link, follow=True)
    if page.status_code != 200:
        return page.status_code
    return person.post("/accounts/login/link/continue/").status_code


def test_a_request_only_queues_and_the_worker_sends(customer, django_capture_on_commit_callbacks):
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks, "/book/x/")
    assert mail.outbox == []
    [record] = EmailRecord.objects.all()
    assert (record.kind, record.status, record.recipient) == (
        "sign_in_link",
        "queued",
        "c•••@example.com",
    )
    drain()
    [message] = mail.outbox
    assert message.to == ["casey@example.com"]
    assert "next=/book/x/" in message.body
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("sent", 1)
    assert sign_in(LINK.search(message.body)[1]) == 302


def test_the_queue_holds_ids_only_never_an_address_a_token_or_a_link(
    customer, django_capture_on_commit_callbacks
):
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks, "/book/x/")
    with django_capture_on_commit_callbacks(execute=True):
        invites.invite_send(user=customer.user)
    drain()
    stored = json.dumps(
        [
            list(DBTaskResult.objects.values_list("args_kwargs", "return_value", "traceback")),
            list(EmailRecord.objects.values()),
        ],
        default=str,
    )
    assert "casey@" not in stored
    tokens = [
        token
        for m in mail.outbox
        for token in re.findall(r"/accounts/(?:login/link|invite/[^/]+)/([^/?\s]+)/", m.body)
    ]
    assert len(tokens) == 3  # a sign-in link; an invitation's sign-in and password links
    for token in tokens:
        assert token not in stored
    assert "/accounts/login/link/" not in stored and "/accounts/invite/" not in stored


def test_an_unknown_address_queues_the_same_trip_and_sends_nothing(
    db, django_capture_on_commit_callbacks
):
    ask_for_link("nobody@example.com", django_capture_on_commit_callbacks)
    assert DBTaskResult.objects.count() == 1
    drain()
    assert mail.outbox == []
    assert EmailRecord.objects.count() == 0


def test_nothing_is_sent_for_a_rolled_back_change(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                invites.invite_send(user=customer.user)
                raise RuntimeError("the import failed after all")
        except RuntimeError:
            pass
    drain()
    assert mail.outbox == []
    assert DBTaskResult.objects.count() == 0


def test_a_failed_send_is_tried_again_later_with_a_growing_wait(
    customer, smtp_down, django_capture_on_commit_callbacks
):
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks)
    drain()
    record = EmailRecord.objects.get()
    assert (record.status, record.attempts) == ("queued", 1)
    assert record.last_error.startswith("ConnectionRefusedError")
    first_wait = record.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=55) < first_wait <= dt.timedelta(seconds=60)
    with time_machine.travel(record.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        drain()
    record.refresh_from_db()
    assert record.attempts == 2
    assert dt.timedelta(seconds=119) < record.next_attempt_at - timezone.now() - first_wait


def test_failed_for_good_marks_it_failed_and_the_older_link_still_works(
    customer, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_ADDRESS_SPACING = 0
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks)
    drain()
    [first] = mail.outbox
    older = LINK.search(first.body)[1]
    # The mail server goes away; the customer asks again.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks)
    record = EmailRecord.objects.order_by("-pk").first()
    drain()
    record.refresh_from_db()
    waits, attempted_at = [], timezone.now()
    while record.status == "queued":
        waits.append(round((record.next_attempt_at - attempted_at).total_seconds() / 60))
        attempted_at = record.next_attempt_at + dt.timedelta(seconds=1)
        with time_machine.travel(attempted_at, tick=False):
            drain()
        record.refresh_from_db()
    # 1, 2, 4, 8, 16 minutes, then 16 more while within the hour (OUTBOX_RETRY_FOR).
    assert waits == [1, 2, 4, 8, 16, 16]
    assert (record.status, record.attempts) == ("failed", 7)
    assert "casey" not in record.last_error
    # Only one email ever went out, and its link signs in.
    assert len(mail.outbox) == 1
    assert sign_in(older) == 302


def test_a_newer_link_works_only_once_its_email_has_gone(
    customer, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_ADDRESS_SPACING = 0
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks)
    drain()
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks)
    older, newer_before = LINK.search(mail.outbox[0].body)[1], None
    # Queued but not sent: the older link is still the one that works.
    assert Client().get(older, follow=True).status_code == 200
    drain()
    newer_before = LINK.search(mail.outbox[1].body)[1]
    assert Client().get(older, follow=True).status_code == 410
    assert sign_in(newer_before) == 302


def test_staff_see_the_emails_masked_and_read_only(
    staff, customer, django_capture_on_commit_callbacks
):
    ask_for_link("casey@example.com", django_capture_on_commit_callbacks)
    drain()
    page = staff.get("/admin/outbox/emailrecord/").content.decode()
    assert "c•••@example.com" in page and "casey@example.com" not in page
    assert "sign_in_link" in page and "sent" in page
    record = EmailRecord.objects.get()
    detail = staff.get(f"/admin/outbox/emailrecord/{record.pk}/change/").content.decode()
    assert "/accounts/login/link/" not in detail
    assert staff.get("/admin/outbox/emailrecord/add/").status_code == 403


def test_staff_invite_thousands_and_follow_the_batch(staff, db, django_capture_on_commit_callbacks):
    from tests.conftest import make_customer

    customers = [make_customer(f"c{n}@example.com", str(500 + n), None) for n in range(30)]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/appointments/customer/",
            {"action": "send_invitations", "_selected_action": [c.pk for c in customers]},
            follow=True,
        )
    page = response.content.decode()
    assert "30 invitation(s) queued" in page
    assert mail.outbox == []
    # The request wrote one task for the run; the worker writes the records and sends.
    assert EmailRecord.objects.count() == 0
    batch = re.search(r"batch=([\w-]+)", page)[1]
    drain()
    assert len(mail.outbox) == 30
    assert EmailRecord.objects.filter(batch=batch, status="sent").count() == 30
    listed = staff.get(f"/admin/outbox/emailrecord/?batch={batch}&status=sent").content.decode()
    assert "30 email records" in listed or "30 results" in listed


def test_the_notice_of_a_changed_address_goes_to_the_old_one_and_is_then_forgotten(
    customer, django_capture_on_commit_callbacks
):
    from accounts import notices

    with django_capture_on_commit_callbacks(execute=True):
        notices.email_changed_notice_send(user_id=customer.user_id, old_email="casey@old.example")
    record = EmailRecord.objects.get()
    # Only the task's record id is queued; the address waits on the record until it is sent.
    assert "casey@old.example" not in json.dumps(list(DBTaskResult.objects.values("args_kwargs")))
    assert (record.address, record.recipient) == ("casey@old.example", "c•••@old.example")
    assert mail.outbox == []
    drain()
    [notice] = mail.outbox
    assert notice.to == ["casey@old.example"]
    assert "sign-in email address has changed" in notice.subject
    record.refresh_from_db()
    assert (record.status, record.address) == ("sent", "")


def test_a_bulk_run_the_database_refused_is_tried_again_not_lost(
    staff, db, django_capture_on_commit_callbacks, caplog
):
    from tests.conftest import make_customer

    customers = [make_customer(f"c{n}@example.com", str(600 + n), None) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            "/admin/appointments/customer/",
            {"action": "send_invitations", "_selected_action": [c.pk for c in customers]},
        )
    real_bulk_create = EmailRecord.objects.bulk_create
    refusals = []

    def refused_once(*args, **kwargs):
        if not refusals:
            refusals.append(1)
            raise OperationalError("database is locked")
        return real_bulk_create(*args, **kwargs)

    with mock.patch.object(EmailRecord.objects, "bulk_create", refused_once):
        drain()
        # Nothing made, nothing sent, and the run waits for its next try.
        assert (EmailRecord.objects.count(), len(mail.outbox)) == (0, 0)
        retry = DBTaskResult.objects.get(status="READY")
        assert retry.args_kwargs["kwargs"] == {"attempt": 2}
        assert "not queued (attempt 1)" in caplog.text and "@example.com" not in caplog.text
        with time_machine.travel(retry.run_after + dt.timedelta(seconds=1), tick=False):
            drain()
    assert sorted(m.to[0] for m in mail.outbox) == [f"c{n}@example.com" for n in range(3)]
    assert EmailRecord.objects.filter(status="sent").count() == 3
