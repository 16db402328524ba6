"""System checks for configuration mistakes Django can see before the first customer does."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def check_flg_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    if not settings.FLG_BASE_URL:
        problems.append(
            Warning(
                "FLG_DOMAIN is not set, so customers cannot book.",
                hint="Set FLG_DOMAIN to your FLG 360 domain, or FLG_SANDBOX=1 for local use.",
                id="flg.W001",
            )
        )
    if not settings.FLG_API_KEY:
        problems.append(
            Warning(
                "FLG_API_KEY (or FLG_API_KEY_FILE) is not set, so customers cannot book.",
                hint="Use an FLG 360 access key with 'Allow access to Appointments' ticked.",
                id="flg.W002",
            )
        )
    if not settings.FLG_BOOKING_HOSTS:
        problems.append(
            Error(
                "FLG_BOOKING_HOSTS is empty, so no booking screen could ever be shown.",
                hint="Set it to the host of FLG's publicUrl, e.g. platform.getflg.com.",
                id="flg.E001",
            )
        )
    sandbox_host = _sandbox_host(settings.FLG_BASE_URL)
    if (
        sandbox_host
        and settings.FLG_BOOKING_HOSTS
        and sandbox_host not in settings.FLG_BOOKING_HOSTS
    ):
        problems.append(
            Warning(
                f"FLG_DOMAIN points at a sandbox on {sandbox_host}, which serves its booking "
                f"screens from there, but FLG_BOOKING_HOSTS is "
                f"{','.join(settings.FLG_BOOKING_HOSTS)}: every booking would fail.",
                hint=f"Set FLG_BOOKING_HOSTS={sandbox_host}, or leave it empty to follow "
                "FLG_DOMAIN.",
                id="flg.W004",
            )
        )
    if settings.FLG_SANDBOX and not settings.DEBUG and not settings.FLG_SANDBOX_DEMO_HOST:
        problems.append(
            Error(
                "FLG_SANDBOX is on with DEBUG off, and FLG_SANDBOX_DEMO_HOST does not say this is "
                "a demo host: the fake FLG 360 is not mounted.",
                hint="Turn FLG_SANDBOX off in production; on a demo host set "
                "FLG_SANDBOX_DEMO_HOST=1.",
                id="flg.E002",
            )
        )
    elif settings.FLG_SANDBOX and not settings.DEBUG:
        problems.append(
            Warning(
                "FLG_SANDBOX is on with DEBUG off: the fake FLG 360 is mounted at /sandbox/ "
                "(FLG_SANDBOX_DEMO_HOST is set).",
                hint="Turn FLG_SANDBOX off in production.",
                id="flg.W003",
            )
        )
    return problems


def _sandbox_host(base_url: str) -> str:
    """The host:port of FLG_DOMAIN when it names a sandbox (its path ends in /sandbox)."""
    parts = urlsplit(base_url)
    return parts.netloc.lower() if parts.path.endswith("/sandbox") else ""
