from __future__ import annotations

from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appointments import (
            checks,  # noqa: F401  (registers the system checks)
            emails,
            leads,
        )
        from outbox import kinds

        emails.register()
        # The worker prunes old lead deliveries daily (OUTBOX_SCHEDULE_PERIOD).
        kinds.job_register(
            kinds.Job(
                "prune_lead_deliveries",
                lambda: {"lead deliveries": leads.lead_deliveries_prune()},
            )
        )
