"""`manage.py reset_two_factor EMAIL`: for the last superuser, locked out without their app."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services, two_factor


class Command(BaseCommand):
    help = "Remove a staff member's two-factor app and recovery codes; they set it up again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the address the staff member signs in with")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        user = services.user_for_email(email)
        if user is None:
            raise CommandError(f"No account signs in with {email!r}; nothing changed.")
        removed = two_factor.two_factor_reset(user=user, by=None)
        if not removed:
            self.stdout.write(f"{user.email} had no two-factor app or recovery codes.")
            return
        self.stdout.write(
            f"Two-factor of {user.email} reset: they set up their app again when they next sign "
            "in at /admin/ with their password."
        )
