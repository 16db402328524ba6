from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from appointments import services


class Command(BaseCommand):
    help = "Give each customer record linked to a staff account an account of its own."

    def handle(self, *args: Any, **options: Any) -> None:
        unlinked = services.customers_unlink_staff()
        if not unlinked:
            self.stdout.write("No customer record is linked to a staff account.")
            return
        self.stdout.write(
            f"Unlinked {len(unlinked)} customer record(s) from staff accounts (lead "
            f"{', '.join(unlinked)}); each has an inactive account named unlinked-lead-<lead id>."
        )
