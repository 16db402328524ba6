from __future__ import annotations

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from outbox import kinds
        from privacy import audit, emails, retention

        # What the audit trail follows (django-auditlog), the emails privacy sends and the
        # recurring job that applies the retention rules (OUTBOX_SCHEDULE_PERIOD, daily).
        audit.models_register()
        emails.register()
        kinds.job_register(kinds.Job("apply_retention", retention.retention_apply))
