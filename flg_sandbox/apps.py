from __future__ import annotations

from django.apps import AppConfig


class FlgSandboxConfig(AppConfig):
    name = "flg_sandbox"
    verbose_name = "FLG 360 sandbox"
    default_auto_field = "django.db.models.BigAutoField"
