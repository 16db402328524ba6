"""The worker: django-tasks-db's own Worker, made to outlast outages and to show it is alive.

What it adds to db_worker's Worker:
- SIGTERM/SIGINT stop it after the task in hand (never mid-claim); a second one stops it now.
- A database outage pauses it with backoff (1 s, doubling to 30 s) instead of ending it; tasks
  it had claimed when the database went away are made ready again.
- A heartbeat thread touches WORKER_HEARTBEAT_FILE every few seconds (the liveness probe,
  `worker_health`), records the worker in the database every 15 s (/readyz, /metrics), and
  queues the recurring jobs that are due (outbox.schedule).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from outbox import schedule
from outbox.models import WorkerBeat

logger = logging.getLogger("outbox.worker")

FILE_EVERY = 5
BEAT_EVERY = 15
SCHEDULE_EVERY = 60
# A task running longer than this means the worker is stuck: the heartbeat stops.
STUCK_AFTER = 600
MAX_PAUSE = 30


class PortalWorker(Worker):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heartbeat_file = Path(settings.WORKER_HEARTBEAT_FILE)
        self._task_started: float | None = None
        self._stopped = threading.Event()

    # --- Stopping ----------------------------------------------------------------------------

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            logger.warning("Received %s again: stopping now.", signal.strsignal(signum))
            self.reset_signals()
            sys.exit(1)
        # No exit here, even when idle: the loop notices within its interval, so a signal
        # between claiming a task and running it cannot strand the task.
        logger.warning(
            "Received %s: stopping once the task in hand is done.", signal.strsignal(signum)
        )
        self.running = False

    # --- Running -----------------------------------------------------------------------------

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self._task_started = time.monotonic()
        try:
            super().run_task(db_task_result)
        finally:
            self._task_started = None

    def run(self) -> None:
        beat = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        beat.start()
        pause = 1.0
        try:
            while self.running:
                try:
                    super().run()
                    return
                except (DatabaseError, InterfaceError) as exc:
                    logger.error(
                        "Database unavailable (%s); the worker waits %.0f s and tries again.",
                        type(exc).__name__,
                        pause,
                    )
                    self._close_connection()
                    self._wait(pause)
                    pause = min(pause * 2, MAX_PAUSE)
                    self._give_back_claimed()
        finally:
            self._stopped.set()
            beat.join(timeout=5)
            self._forget()
            logger.info("Worker %s stopped.", self.worker_id)

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running and time.monotonic() < deadline:
            time.sleep(0.2)

    @staticmethod
    def _close_connection() -> None:
        # A connection already broken may fail to close.
        with contextlib.suppress(Exception):
            connection.close()

    def _give_back_claimed(self) -> None:
        """Tasks this worker claimed when the database went away: ready for another try."""
        try:
            mine = [
                result.pk
                for result in DBTaskResult.objects.running()
                if result.worker_ids and result.worker_ids[-1] == self.worker_id
            ]
            if mine:
                DBTaskResult.objects.filter(pk__in=mine).update(status="READY", started_at=None)
                logger.warning("Gave %d interrupted task(s) back to the queue.", len(mine))
        except (DatabaseError, InterfaceError):
            self._close_connection()  # still out: the loop will pause again

    # --- Heartbeat -----------------------------------------------------------------------------

    def alive(self) -> bool:
        """Not stuck: idle, or the task in hand started less than STUCK_AFTER ago."""
        started = self._task_started
        return started is None or time.monotonic() - started < STUCK_AFTER

    def _heartbeat(self) -> None:
        last_beat = last_schedule = 0.0
        while not self._stopped.is_set():
            now = time.monotonic()
            if self.alive():
                self._touch()
                if now - last_beat >= BEAT_EVERY:
                    last_beat = now
                    self._in_database(self._beat)
                if now - last_schedule >= SCHEDULE_EVERY:
                    last_schedule = now
                    self._in_database(self._schedule)
            self._stopped.wait(FILE_EVERY)
        close_old_connections()
        self._close_connection()

    def _touch(self) -> None:
        try:
            self.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
            self.heartbeat_file.touch()
        except OSError as exc:
            logger.error("Cannot touch the heartbeat file: %s", exc.strerror)

    def _in_database(self, work: Any) -> None:
        try:
            work()
        except (DatabaseError, InterfaceError) as exc:
            logger.warning("Heartbeat: database unavailable (%s)", type(exc).__name__)
            self._close_connection()
        except Exception:
            logger.exception("Heartbeat: unexpected error")

    def _beat(self) -> None:
        WorkerBeat.objects.update_or_create(
            worker_id=self.worker_id, defaults={"seen_at": timezone.now()}
        )

    def _schedule(self) -> None:
        for name in schedule.jobs_due():
            logger.info("Queued the recurring job %s", name)

    def _forget(self) -> None:
        with contextlib.suppress(DatabaseError, InterfaceError):
            WorkerBeat.objects.filter(worker_id=self.worker_id).delete()
        self.heartbeat_file.unlink(missing_ok=True)
