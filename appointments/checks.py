"""System checks on the portal's own rows: what the database holds that it never should."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder

from accounts import services as accounts

# The data migration that unlinks the customer records of staff accounts.
UNLINK_MIGRATION = ("appointments", "0009_customer_unlink_staff")
SHOWN = 10


# Tagged `database`, as Django's own checks that read rows: run by `migrate` and by
# `check --database default`, not by every command (a build step may have no database).
@register(Tags.database)
def check_no_staff_customer(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    from appointments.models import Customer

    try:
        leads = list(
            Customer.objects.filter(user__in=accounts.users_staff())
            .order_by("lead_id")
            .values_list("lead_id", flat=True)
        )
        pending = (
            UNLINK_MIGRATION
            not in MigrationRecorder(connections[DEFAULT_DB_ALIAS]).applied_migrations()
        )
    except DatabaseError:
        return []  # tables not there yet: `migrate` is about to make them
    if not leads:
        return []
    shown = ", ".join(leads[:SHOWN]) + (
        f" and {len(leads) - SHOWN} more" if len(leads) > SHOWN else ""
    )
    what = (
        f"{len(leads)} customer record(s) are linked to a staff account (lead {shown}): a staff "
        "account is never a customer, and a customer path (the lead webhook, a sign-in link) "
        "could reach the admin through them."
    )
    if pending:
        # An error would stop the very `migrate` that mends it.
        return [
            Warning(
                what,
                hint="`manage.py migrate` unlinks them (appointments 0009), keeping every row.",
                id="appointments.W001",
            )
        ]
    return [
        Error(
            what,
            hint="`manage.py unlink_staff_customers` gives each record an account of its own, "
            "deleting nothing (as appointments 0009 did); or, if the account is the "
            "customer's own, take its staff rights away in the admin (Users).",
            id="appointments.E001",
        )
    ]
