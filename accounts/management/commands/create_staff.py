"""`manage.py create_staff --email E --password-file PATH`: the first admin, without a prompt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from accounts import services

PASSWORD_VARIABLE = "STAFF_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class Command(BaseCommand):
    help = "Create a staff account with every right in the admin (the first one, in a container)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="the address the account signs in with")
        parser.add_argument(
            "--password-file",
            help=f"a file holding the password (else the {PASSWORD_VARIABLE} variable)",
        )
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="if the staff account exists, set its password to the one given",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address.") from None
        password = self.password(options["password_file"])
        with transaction.atomic():
            existing = services.user_for_email(email)
            if existing is not None:
                self.update(existing, password, reset=options["reset_password"])
                return
            try:
                validate_password(password)
            except ValidationError as error:
                raise CommandError(
                    "The password is too weak: " + " ".join(error.messages)
                ) from None
            services.staff_create(email=email, password=password)
        self.stdout.write(f"Created staff account {email}; sign in at /admin/.")

    def update(self, user: Any, password: str, *, reset: bool) -> None:
        try:
            services.staff_grant_check(user=user)
        except services.StaffCustomerMixed as refused:
            raise CommandError(f"Nothing changed: {refused}") from None
        if not user.is_staff:
            raise CommandError(
                f"{user.email} belongs to an account that is not staff; nothing changed. "
                "Give staff rights in the admin, or use another address."
            )
        if not reset:
            self.stdout.write(
                f"Staff account {user.email} already exists; nothing changed "
                "(--reset-password sets its password)."
            )
            return
        try:
            validate_password(password, user=user)
        except ValidationError as error:
            raise CommandError("The password is too weak: " + " ".join(error.messages)) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        self.stdout.write(f"Password of staff account {user.email} set.")

    def password(self, path: str | None) -> str:
        if path:
            try:
                # One line, as `echo` or a Kubernetes Secret writes it: the newline is not in it.
                password = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise CommandError(
                    f"--password-file {path!r} cannot be read ({exc.strerror})."
                ) from None
        else:
            password = os.environ.get(PASSWORD_VARIABLE, "")
        if not password:
            raise CommandError(
                f"No password: give --password-file PATH or set {PASSWORD_VARIABLE}."
            )
        return password
