"""The real queue in this process: django-tasks-db's own Worker drains it, as run_worker does."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from django_tasks_db.management.commands.db_worker import Worker


def drain() -> None:
    """Run every task that is ready now, as the worker would, then return.

    Inside the test's transaction: the worker's check for stale connections would close the
    connection that holds it (PostgreSQL), so it is left out here.
    """
    with mock.patch(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    ):
        _worker().run()


def _worker() -> Worker:
    return Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_down(settings):
    """The SMTP backend, pointed at a port nobody listens on: every send is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    return settings
