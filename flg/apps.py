from __future__ import annotations

from django.apps import AppConfig


class FlgConfig(AppConfig):
    name = "flg"
    verbose_name = "FLG 360"

    def ready(self) -> None:
        from flg import checks  # noqa: F401  (registers the system checks)
