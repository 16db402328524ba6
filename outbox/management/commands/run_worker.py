from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.utils.crypto import get_random_string

from outbox.worker import PortalWorker


class Command(BaseCommand):
    help = "Run the background worker: every queue and the recurring jobs, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between looks at an empty queue (default 1).",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Run what is ready, then stop (for scripts; the schedule still ticks once).",
        )

    def handle(self, *args: Any, interval: float, batch: bool, **options: Any) -> None:
        _one_connection()
        # Its log lines go through the portal's logging (LOG_FORMAT), like the web's.
        logging.getLogger("django_tasks").setLevel(logging.INFO)
        logging.getLogger("django_tasks_db").setLevel(logging.INFO)
        worker = PortalWorker(
            queue_names=["*"],
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()


def _one_connection() -> None:
    """The worker is one thread: it keeps one connection, not the web's pool.

    A pool waits its timeout for a connection while the database is down and backs off its
    reconnections; the worker's own loop already waits out an outage (outbox.worker), and with
    a plain connection it notices at once, and at once when the database is back.
    """
    for connection in connections.all(initialized_only=True):
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
    for alias in connections:
        entry = connections.settings[alias]
        if entry.get("OPTIONS", {}).pop("pool", None) is not None:
            entry["CONN_MAX_AGE"] = 60
            entry["CONN_HEALTH_CHECKS"] = True
            connection = connections[alias]
            connection.close()
            connection.settings_dict.update(entry)
