"""`manage.py run_worker` as a process, against a file database and a real SMTP server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import smtp_sink
from tests.processes import ROOT, clean_env, free_port

pytestmark = [pytest.mark.queue, pytest.mark.subprocess]

SECRET = "worker-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CUSTOMERS = 6


class Setup:
    """A database with customers, a mail server that can be stopped, and workers to start."""

    def __init__(self, tmp: Path, database: str = "") -> None:
        self.tmp = tmp
        self.smtp_port = free_port()
        self.received = tmp / "received.jsonl"
        self.received.touch()
        self.heartbeat = tmp / "worker.heartbeat"
        self.env = clean_env(
            SECRET_KEY=SECRET,
            DEBUG="1",
            DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
            FLG_SANDBOX="0",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp_port),
            EMAIL_TIMEOUT="5",
            PORTAL_URL="https://book.example.com",
            OUTBOX_RETRY_FIRST_DELAY="1",
            OUTBOX_RETRY_MAX_DELAY="2",
            WORKER_HEARTBEAT_FILE=str(self.heartbeat),
            LOG_FORMAT="plain",
        )
        self.smtp: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        if database:
            self.env["DATABASE_URL"] = database
        self.manage("migrate", "--no-input")

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code).strip()

    def customers_invite(self) -> None:
        self.shell(
            "from django.db import transaction\n"
            "from accounts import invites\n"
            "from appointments.models import Customer\n"
            "from tests.conftest import make_customer\n"
            f"cs = [make_customer(f'c{{n}}@example.com', str(700 + n), None) "
            f"for n in range({CUSTOMERS})]\n"
            "with transaction.atomic():\n"
            "    invites.invites_send(users=[c.user for c in cs])\n"
        )

    def smtp_start(self, *flags: str) -> None:
        self.smtp = smtp_sink.sink_start(port=self.smtp_port, out=self.received, flags=flags)

    def smtp_stop(self) -> None:
        if self.smtp is not None and self.smtp.poll() is None:
            self.smtp.terminate()
            self.smtp.wait(timeout=10)

    def worker_start(self) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker{len(self.workers)}.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "0.2"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.tmp.glob("worker*.log")))

    def arrived(self) -> list[dict]:
        return [json.loads(line) for line in self.received.read_text().splitlines()]

    def statuses(self) -> dict[str, int]:
        out = self.shell(
            "import json; from collections import Counter; from outbox.models import EmailRecord; "
            "print(json.dumps(Counter(EmailRecord.objects.values_list('status', flat=True))))"
        )
        return json.loads(out.splitlines()[-1])

    def wait_for(self, check, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.3)
        raise AssertionError(f"timed out; worker log:\n{self.logs()[-3000:]}")

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        self.smtp_stop()


@pytest.fixture
def setup(tmp_path):
    running = Setup(tmp_path)
    yield running
    running.stop()


def test_emails_queued_while_smtp_is_down_arrive_each_once_when_it_is_back(setup):
    setup.customers_invite()
    setup.worker_start()
    # Down: every attempt is refused, and retried.
    setup.wait_for(lambda: "not sent (attempt 2)" in setup.logs())
    assert setup.arrived() == []
    setup.smtp_start()
    setup.wait_for(lambda: len(setup.arrived()) >= CUSTOMERS)
    time.sleep(3)  # any duplicate would have arrived by now
    got = sorted(m["to"][0] for m in setup.arrived())
    assert got == sorted(f"c{n}@example.com" for n in range(CUSTOMERS))
    assert setup.statuses() == {"sent": CUSTOMERS}
    # Nothing the worker logged holds an address or a link.
    logs = setup.logs()
    assert "@example.com" not in logs and "/accounts/" not in logs


def test_sigterm_while_sending_loses_nothing(setup):
    setup.smtp_start("--delay", "1")
    setup.customers_invite()
    worker = setup.worker_start()
    setup.wait_for(lambda: len(setup.arrived()) >= 1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert "stopping once the task in hand is done" in setup.logs()
    sent_before = len(setup.arrived())
    assert sent_before < CUSTOMERS
    running = setup.shell(
        "from django_tasks_db.models import DBTaskResult; "
        "print(DBTaskResult.objects.filter(status='RUNNING').count())"
    )
    assert running.splitlines()[-1] == "0"
    setup.worker_start()
    setup.wait_for(lambda: len(setup.arrived()) >= CUSTOMERS)
    time.sleep(2)
    assert len(setup.arrived()) == CUSTOMERS
    assert len({m["to"][0] for m in setup.arrived()}) == CUSTOMERS


def test_the_health_command_tells_whether_the_worker_is_alive(setup):
    def health() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "worker_health"],
            cwd=ROOT,
            env=setup.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    before = health()
    assert before.returncode == 1 and "no heartbeat file" in before.stdout
    worker = setup.worker_start()
    setup.wait_for(setup.heartbeat.exists)
    alive = health()
    assert alive.returncode == 0, alive.stdout
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=20)
    assert health().returncode == 1


def test_two_workers_run_each_recurring_job_once(setup):
    setup.worker_start()
    setup.worker_start()
    setup.wait_for(lambda: setup.logs().count("Recurring job") >= 4)
    time.sleep(2)
    logs = setup.logs()
    for job in ["prune_lead_deliveries", "prune_email_records", "prune_task_results"]:
        assert logs.count(f"Recurring job {job}:") == 1, logs[-3000:]
    assert "Recurring job prune_lead_deliveries: 0 lead deliveries" in logs
