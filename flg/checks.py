"""System checks for configuration mistakes Django can see before the first customer does."""

from __future__ import annotations

from typing import Any

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
