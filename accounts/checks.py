"""Deploy-time checks (`manage.py check --deploy`) for what getting in depends on: mail."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

from flg.net import is_loopback

# Backends that keep mail on the machine (printed, kept in memory or dropped): fine for
# development, but in production no sign-in link, reset or invitation would reach anyone.
UNDELIVERED_MAIL = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


@register(Tags.security, deploy=True)
def check_mail_reaches_customers(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.DEBUG:
        return []
    problems = []
    if settings.EMAIL_BACKEND in UNDELIVERED_MAIL:
        problems.append(
            Warning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}, so no email leaves the machine: "
                "sign-in links, password resets and invitations never reach customers.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
                "EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS.",
                id="accounts.W001",
            )
        )
    host = urlsplit(settings.PORTAL_URL).hostname or ""
    # The default (http://127.0.0.1:8000) is loopback too.
    if is_loopback(host):
        problems.append(
            Warning(
                f"PORTAL_URL is {settings.PORTAL_URL}, so links in emails sent by commands "
                "(invitations from the import, say) point at this machine, not the portal.",
                hint="Set PORTAL_URL to the address customers use, e.g. https://book.example.com.",
                id="accounts.W002",
            )
        )
    return problems
