"""System checks for the settings that emails to customers depend on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@register(Tags.security, deploy=True)
def check_portal_url(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    parts = urlsplit(settings.PORTAL_URL)
    if parts.scheme in {"http", "https"} and (parts.hostname or "") not in LOCAL_HOSTS:
        return []
    return [
        Warning(
            f"PORTAL_URL is {settings.PORTAL_URL!r}, so the links in invitation and password "
            "emails would not reach customers.",
            hint="Set PORTAL_URL to the address customers use, e.g. https://book.example.com.",
            id="accounts.W001",
        )
    ]
