from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from business import branding

SANDBOX_MAILBOX_BACKEND = "flg_sandbox.mailbox.EmailBackend"


def demo_mailbox_url() -> str:
    """Where the demo's emails are (the sandbox's mailbox), or "" when they go elsewhere."""
    if not settings.FLG_SANDBOX or settings.EMAIL_BACKEND != SANDBOX_MAILBOX_BACKEND:
        return ""
    try:
        return reverse("flg_sandbox:mailbox")
    except NoReverseMatch:  # the sandbox is not mounted on this host
        return ""


def portal_without_database() -> dict[str, Any]:
    """The same for the page that says the database is down: the brand from the cache alone."""
    return {**branding.portal_context(database=False), "demo_mailbox_url": demo_mailbox_url()}


def portal(request: HttpRequest) -> dict[str, Any]:
    """The portal's brand and support contacts (staff's, over the environment's), for the
    layout of every page."""
    return {**branding.portal_context(), "demo_mailbox_url": demo_mailbox_url()}
