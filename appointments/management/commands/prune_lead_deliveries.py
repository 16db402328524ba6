from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from appointments import leads


class Command(BaseCommand):
    help = "Delete lead delivery records older than FLG_WEBHOOK_LOG_DAYS (run_worker does, daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days instead (default FLG_WEBHOOK_LOG_DAYS, now "
            f"{settings.FLG_WEBHOOK_LOG_DAYS}).",
        )

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        days = settings.FLG_WEBHOOK_LOG_DAYS if days is None else max(1, days)
        deleted = leads.lead_deliveries_prune(days=days)
        self.stdout.write(f"Deleted {deleted} lead delivery record(s) older than {days} days.")
