from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import invites
from appointments import import_file, importing


class Command(BaseCommand):
    help = "Create or update customers from a CSV file: every row is checked, then all or none."
    # (Or, with --refused, the good rows; the bad ones are written to that file.)

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
        parser.add_argument(
            "--refused",
            metavar="OUT.csv",
            help="Import the good rows and write the bad ones, each with its problem, to this "
            "file (the default is all or nothing).",
        )

    def handle(
        self,
        *args: Any,
        file: str,
        dry_run: bool,
        send_invites: bool,
        refused: str | None = None,
        **options: Any,
    ) -> None:
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            if dry_run:
                plan = importing.customers_import_plan(data=data, partial=bool(refused))
                invites_note = (
                    f"; {plan.count('create')} invitation(s) would be sent" if send_invites else ""
                )
                left = f"; {len(plan.errors)} row(s) would be left out" if plan.errors else ""
                self.stdout.write(f"Dry run, nothing written: {plan.summary}{left}{invites_note}.")
                return
            result = importing.customers_import_apply(data=data, partial=bool(refused))
        except importing.ImportRefused as refusal:
            for error in refusal.errors:
                self.stderr.write(str(error))
            raise CommandError(str(refusal)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {len(result.created)} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.groups_created} lead group(s) created."
            )
        )
        if refused and result.refused:
            header = import_file.header_read(import_file.csv_reader(data.decode("utf-8-sig")))
            Path(refused).write_text(
                import_file.refused_csv(header=header, rows=result.refused), encoding="utf-8"
            )
            self.stdout.write(
                f"Left out: {len(result.refused)} row(s) with a problem, written with the "
                f"problem on each row to {refused}."
            )
        if send_invites:
            queued = invites.invites_send(users=[customer.user for customer in result.created])
            # The worker (manage.py run_worker) sends them; staff follow the batch in the admin.
            self.stdout.write(
                f"Invitations queued: {queued.queued} (batch {queued.batch}); the worker sends "
                "them. Follow them in the admin under Outbox > Email records."
            )
