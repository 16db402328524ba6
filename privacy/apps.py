from __future__ import annotations

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save

        from outbox import kinds
        from privacy import audit, emails, middleware, retention

        # What the audit trail follows (django-auditlog), the emails privacy sends and the
        # recurring job that applies the retention rules (OUTBOX_SCHEDULE_PERIOD, daily).
        audit.models_register()
        pre_save.connect(middleware.entry_fill, sender=LogEntry, dispatch_uid="audit-entry-fill")
        emails.register()
        kinds.job_register(kinds.Job("apply_retention", retention.retention_apply))
