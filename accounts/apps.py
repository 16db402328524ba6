from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import (
            checks,  # noqa: F401  (registers the system checks)
            emails,
        )

        # The outbox makes accounts' emails at send time from these.
        emails.register()
