from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments import booking_links
from appointments.models import AppointmentType, Customer, LeadGroup


class Command(BaseCommand):
    help = "Write a CSV of personal booking links for one appointment type, for a mail merge."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--type", required=True, dest="slug", help="The type's slug.")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"How many days the links work (default BOOKING_LINK_DAYS, "
            f"{settings.BOOKING_LINK_DAYS}; at most {booking_links.MAX_DAYS}).",
        )
        parser.add_argument(
            "--lead-group",
            type=int,
            default=None,
            help="Only customers of this lead group (its FLG lead group id).",
        )
        parser.add_argument(
            "--output", default="-", help="The CSV file to write (default: standard output)."
        )

    def handle(
        self,
        *args: Any,
        slug: str,
        days: int | None,
        lead_group: int | None,
        output: str,
        **options: Any,
    ) -> None:
        appointment_type = AppointmentType.objects.filter(slug=slug).first()
        if appointment_type is None:
            known = ", ".join(AppointmentType.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No appointment type has the slug {slug!r} (known: {known}).")
        if not appointment_type.is_active:
            raise CommandError(f"{appointment_type} is not active: a link to it would not work.")
        if days is not None and not 1 <= days <= booking_links.MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {booking_links.MAX_DAYS}, not {days}.")
        customers = Customer.objects.order_by("user__email")
        if lead_group is not None:
            group = LeadGroup.objects.filter(flg_id=lead_group).first()
            if group is None:
                raise CommandError(f"No lead group has the FLG id {lead_group}.")
            customers = customers.filter(lead_group=group)
        rows = booking_links.booking_links_rows(
            appointment_type=appointment_type,
            customers=booking_links.booking_links_customers(
                appointment_type=appointment_type, customers=customers
            ),
            base_url=settings.PORTAL_URL,
            days=days,
        )
        if output == "-":
            count = booking_links.booking_links_csv_write(rows=rows, out=self.stdout)
        else:
            try:
                with open(output, "w", encoding="utf-8", newline="") as out:
                    count = booking_links.booking_links_csv_write(rows=rows, out=out)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        # On standard error, so the CSV on standard output stays clean.
        self.stderr.write(f"{count} booking link(s) for {appointment_type}.")
