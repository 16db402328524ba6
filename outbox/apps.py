from __future__ import annotations

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox (emails and background work)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from outbox import schedule  # noqa: F401  (registers the outbox's recurring jobs)
