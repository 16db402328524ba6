"""The worker outlives a database outage: it waits, backs off, and carries on, no crash loop."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.outbox.test_worker import Setup
from tests.portal.test_database_outage import Gate
from tests.processes import ROOT, postgres_database

pytestmark = [pytest.mark.queue, pytest.mark.subprocess]

NAME = "h_queue_worker_outage"


@pytest.fixture
def database():
    with postgres_database(NAME, why="the worker waits out its outage") as url:
        yield url


def test_the_worker_waits_out_a_database_outage_and_then_sends(tmp_path, database):
    gate = Gate("127.0.0.1", 5432)
    setup = Setup(tmp_path, database)
    try:
        setup.smtp_start()
        worker_env = {
            **setup.env,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{gate.port}/{NAME}",
        }
        log = (tmp_path / "worker0.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "0.2"],
            cwd=ROOT,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        setup.workers.append(worker)
        setup.wait_for(setup.heartbeat.exists)
        gate.close()
        setup.wait_for(lambda: setup.logs().count("Database unavailable") >= 2, timeout=30)
        time.sleep(3)
        assert worker.poll() is None, setup.logs()[-3000:]
        gate.open()
        setup.customers_invite()
        setup.wait_for(lambda: len(setup.arrived()) >= 6, timeout=90)
        assert worker.poll() is None
        assert setup.statuses() == {"sent": 6}
    finally:
        setup.stop()
        gate.close()
