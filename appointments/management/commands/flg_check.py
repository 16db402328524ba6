from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments import leads
from appointments.models import AppointmentType, lead_id_validator
from flg import connection, sessions
from flg.errors import FlgError


class Command(BaseCommand):
    help = "Check that the FLG 360 domain and access key work (--lead/--type: a real session)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lead", help="Full test: a lead id to create a real session for.")
        parser.add_argument("--type", dest="type_id", help="Full test: an appointment type id.")

    def handle(self, *args: Any, lead: str | None, type_id: str | None, **options: Any) -> None:
        # Arguments first: a typo should not wait on the network to be pointed out.
        full_test = self.full_test_arguments(lead, type_id)
        self.stdout.write(f"FLG 360:        {settings.FLG_BASE_URL or '(not set)'}")
        self.stdout.write(f"Booking hosts:  {', '.join(sessions.booking_hosts()) or '(none)'}")
        self.stdout.write(f"Access key:     {'set' if settings.FLG_API_KEY else '(not set)'}")
        _configured, webhook = leads.webhook_status()
        self.stdout.write(f"Webhook:        {webhook}")
        self.write_types()

        if full_test is not None:
            self.full_test(*full_test)
            return

        check = connection.check()
        for step in check.steps:
            self.stdout.write(f"  {step}")
        if not check.ok:
            raise CommandError(f"{check.summary}\nWhat to change: {check.advice}")
        self.stdout.write(self.style.SUCCESS(f"OK: {check.summary}"))

    def write_types(self) -> None:
        types = list(AppointmentType.objects.filter(is_active=True).select_related("lead_group"))
        self.stdout.write("Active appointment types:")
        for t in types:
            group = (
                f"lead group {t.lead_group.name} ({t.lead_group.flg_id})"
                if t.lead_group
                else "All lead groups"
            )
            self.stdout.write(f"  {t.name}  {t.flg_id}  {group}")
        if not types:
            self.stdout.write("  (none: add them in the admin)")

    def full_test_arguments(
        self, lead: str | None, type_id: str | None
    ) -> tuple[str, uuid.UUID] | None:
        if lead is None and type_id is None:
            return None
        if not lead or not type_id:
            raise CommandError("The full test needs both --lead ID and --type UUID.")
        try:
            lead_id_validator(lead)
        except ValidationError:
            raise CommandError(f"--lead {lead!r} is not a lead id: digits only.") from None
        try:
            appointment_type = uuid.UUID(type_id.strip())
        except ValueError:
            raise CommandError(
                f"--type {type_id!r} is not an appointment type id (a UUID, as shown under "
                "Settings > Appointments > Properties in FLG 360)."
            ) from None
        return lead, appointment_type

    def full_test(self, lead: str, appointment_type: uuid.UUID) -> None:
        try:
            session = sessions.create(lead=lead, appointment_type=appointment_type)
        except FlgError as exc:
            raise CommandError(f"FLG 360 could not create a session: {exc.detail}") from None
        self.stdout.write(self.style.SUCCESS("OK: FLG 360 created an appointment session."))
        self.stdout.write(f"  closesAt:  {session.closes_at.isoformat()}")
        self.stdout.write(f"  publicUrl: {session.public_url}")
