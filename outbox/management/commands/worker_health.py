from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

FRESH_SECONDS = 60


class Command(BaseCommand):
    help = "Exit 0 if this container's worker touched its heartbeat file in the last 60 s."
    # A liveness probe: one line, fast, and no system check to repeat every few seconds.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.WORKER_HEARTBEAT_FILE)
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            self.stdout.write(f"unhealthy: no heartbeat file at {path} (is run_worker running?)")
            sys.exit(1)
        if age > FRESH_SECONDS:
            self.stdout.write(
                f"unhealthy: the worker's last heartbeat was {age:.0f} s ago "
                f"(more than {FRESH_SECONDS} s)"
            )
            sys.exit(1)
        self.stdout.write(f"ok: heartbeat {age:.0f} s ago")
