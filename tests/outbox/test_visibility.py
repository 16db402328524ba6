"""What staff and operators see of the queue: /metrics, /readyz, the schedule's runs; and the
demo's mailbox, where a newcomer reads the emails the portal sent."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from outbox import schedule
from outbox.models import EmailRecord, JobRun, WorkerBeat
from tests.outbox.conftest import drain

pytestmark = [pytest.mark.queue, pytest.mark.django_db]

TOKEN = "tests-only-metrics-token-0123456789"


def figures(client) -> dict[tuple[str, tuple], float]:
    page = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def test_metrics_show_the_queue_its_oldest_age_and_sends_by_outcome(
    client, settings, customer, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = TOKEN
    settings.EMAIL_ADDRESS_SPACING = 0
    earlier = timezone.now() - dt.timedelta(seconds=90)
    with (
        time_machine.travel(earlier, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    seen = figures(client)
    assert seen[("portal_queue_depth", ())] == 1
    assert 89 <= seen[("portal_queue_oldest_seconds", ())] < 120
    assert seen[("portal_emails", (("status", "queued"),))] == 1
    assert seen[("portal_worker_last_seen_seconds", ())] == -1
    drain()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/accounts/login/link/", {"email": "casey@example.com"})
    drain()
    seen = figures(client)
    assert seen[("portal_queue_depth", ())] == 0
    assert seen[("portal_email_sends", (("outcome", "sent"),))] == 1
    assert seen[("portal_email_sends", (("outcome", "retry"),))] == 1
    assert seen[("portal_email_sends", (("outcome", "failed"),))] == 0


def test_readyz_says_whether_a_worker_was_seen_without_failing(client):
    assert client.get("/readyz").json()["worker"] == "not seen"
    WorkerBeat.objects.create(worker_id="w1", seen_at=timezone.now())
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["worker"] == "seen"


def test_each_job_runs_once_a_period_and_logs_what_it_removed(db, caplog, settings):
    old = EmailRecord.objects.create(kind="invite", user_id=1, recipient="a•••@x.com")
    EmailRecord.objects.filter(pk=old.pk).update(
        status="sent",
        finished_at=timezone.now() - dt.timedelta(days=settings.OUTBOX_RECORD_DAYS + 1),
    )
    EmailRecord.objects.create(kind="invite", user_id=2, recipient="b•••@x.com")
    first = schedule.jobs_due()
    assert set(first) >= {"prune_lead_deliveries", "prune_email_records", "prune_task_results"}
    assert schedule.jobs_due() == []
    with caplog.at_level(logging.INFO, logger="outbox.schedule"):
        drain()
    assert "Recurring job prune_email_records: 1 email records" in caplog.text
    assert "Recurring job prune_lead_deliveries: 0 lead deliveries" in caplog.text
    assert EmailRecord.objects.count() == 1
    assert JobRun.objects.filter(finished_at__isnull=False).count() == len(first)
    # The next period, each runs again.
    with time_machine.travel(timezone.now() + dt.timedelta(days=1), tick=False):
        assert set(schedule.jobs_due()) == set(first)


def test_a_task_left_running_by_a_killed_worker_is_given_back(db):
    from django_tasks_db.models import DBTaskResult

    from outbox import tasks

    tasks.nothing.enqueue()
    DBTaskResult.objects.update(
        status="RUNNING", started_at=timezone.now() - dt.timedelta(minutes=5), worker_ids=["gone"]
    )
    assert schedule.stalled_recover()["tasks requeued"] == 1
    assert DBTaskResult.objects.get().status == "READY"


# --- The demo mailbox --------------------------------------------------------------------------


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "flg_sandbox.mailbox.EmailBackend"


def test_a_newcomer_finds_the_sign_in_link_in_the_demo_mailbox(
    mailbox, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = Client().post("/accounts/login/link/", {"email": "casey@example.com"}, follow=True)
    page = sent.content.decode()
    assert "This is a demo: read the email at" in page and "/sandbox/mailbox/" in page
    drain()
    inbox = Client().get("/sandbox/mailbox/").content.decode()
    assert "casey@example.com" in inbox
    message = re.search(r'href="(/sandbox/mailbox/\d+/)">([^<]+)</a>', inbox)
    opened = Client().get(message[1])
    assert opened["Referrer-Policy"] == "no-referrer"
    link = re.search(
        r'<a href="(http://testserver/accounts/login/link/[^"]+)"', opened.content.decode()
    )
    assert link, opened.content.decode()
    opened = Client().get(link[1].replace("http://testserver", ""), follow=True)
    assert opened.status_code == 200


def test_an_emails_html_is_never_run_in_the_mailbox(mailbox, db):
    email = EmailMultiAlternatives("Hi <b>", "Text <script>alert(1)</script>", to=["a@example.com"])
    email.attach_alternative("<script>alert(2)</script>", "text/html")
    email.send()
    inbox = Client().get("/sandbox/mailbox/").content.decode()
    assert "Hi &lt;b&gt;" in inbox
    pk = re.search(r'href="/sandbox/mailbox/(\d+)/"', inbox)[1]
    page = Client().get(f"/sandbox/mailbox/{pk}/").content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_without_the_mailbox_the_check_your_email_page_says_nothing_of_it(settings, customer):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = Client().post("/accounts/login/link/", {"email": "casey@example.com"}, follow=True)
    assert "This is a demo" not in page.content.decode()
