from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import invites
from appointments import importing


class Command(BaseCommand):
    help = "Create or update customers from a CSV file: every row is checked, then all or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV with email, first_name, last_name, lead_id, ...")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )
        parser.add_argument(
            "--send-invites",
            action="store_true",
            help="Email each new customer a link to choose a password (links use PORTAL_URL).",
        )

    def handle(
        self, *args: Any, file: str, dry_run: bool, send_invites: bool, **options: Any
    ) -> None:
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            if dry_run:
                plan = importing.customers_import_plan(data=data)
                invites_note = (
                    f"; {plan.count('create')} invitation(s) would be sent" if send_invites else ""
                )
                self.stdout.write(f"Dry run, nothing written: {plan.summary}{invites_note}.")
                return
            result = importing.customers_import_apply(data=data)
        except importing.ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(str(error))
            raise CommandError(str(refused)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {len(result.created)} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.groups_created} lead group(s) created."
            )
        )
        if send_invites:
            queued = invites.invites_send(users=[customer.user for customer in result.created])
            # The worker (manage.py run_worker) sends them; staff follow the batch in the admin.
            self.stdout.write(
                f"Invitations queued: {queued.queued} (batch {queued.batch}); the worker sends "
                "them. Follow them in the admin under Outbox > Email records."
            )
