from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services as accounts
from appointments import demo


class Command(BaseCommand):
    help = "Create the demo customer, admin, lead groups and appointment types (and the sandbox's)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with published passwords, so it refuses to run with "
                "DEBUG off. Use --force if this really is a demo or test machine."
            )
        try:
            key_is_the_sandboxs = demo.seed_demo(flg_api_key=settings.FLG_API_KEY)
        except accounts.StaffCustomerMixed as refused:
            raise CommandError(f"Nothing changed: {refused}") from None
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        if not key_is_the_sandboxs:
            self.stdout.write(
                self.style.WARNING(
                    "FLG_API_KEY is not the sandbox's key, so it was not copied into the sandbox "
                    "(it may be a real FLG 360 key). To book against the sandbox, set "
                    f"FLG_API_KEY={demo.SANDBOX_KEY} or leave it unset."
                )
            )
        self.stdout.write(f"  Customer: {demo.CUSTOMER_EMAIL} / {demo.CUSTOMER_PASSWORD}")
        self.stdout.write(f"  Admin:    {demo.ADMIN_EMAIL} / {demo.ADMIN_PASSWORD}")
        self.stdout.write(f"  {demo.webhook_wiring()}")
