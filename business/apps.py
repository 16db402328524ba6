from __future__ import annotations

from django.apps import AppConfig


class BusinessConfig(AppConfig):
    name = "business"
    verbose_name = "The business's own settings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from business import emails, events
        from outbox import kinds

        # "Send me a test" goes through the queue like every email; every email carries the
        # sender name staff chose.
        kinds.kind_register(emails.TEST_KIND, emails.email_text_test_render)
        kinds.sender_name_register(emails.sender_name)
        # The dashboard's events are kept KEEP_DAYS, then deleted daily.
        kinds.job_register(
            kinds.Job("prune_dashboard_events", lambda: {"dashboard events": events.events_prune()})
        )
