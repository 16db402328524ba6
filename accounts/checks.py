"""Deploy-time checks (`manage.py check --deploy`) for what emails to customers depend on: that
mail leaves the machine, and that its links point at the portal."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Backends that keep mail on the machine (printed, kept in memory, dropped or written to files):
# fine for development, but in production no sign-in link, reset or invitation would reach
# anyone.
UNDELIVERED_MAIL = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


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


@register(Tags.security, deploy=True)
def check_mail_leaves_the_machine(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.DEBUG or settings.EMAIL_BACKEND not in UNDELIVERED_MAIL:
        return []
    return [
        Warning(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}, so no email leaves the machine: "
            "sign-in links, password resets and invitations never reach customers.",
            hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
            "EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS.",
            id="accounts.W002",
        )
    ]


TWO_FACTOR_MIDDLEWARE = [
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.two_factor.StaffTwoFactorMiddleware",
]


@register(Tags.security)
def check_two_factor_middleware(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Without both middleware, in this order, the admin would ask for a code it never sees."""
    if not settings.STAFF_TWO_FACTOR:
        return []
    found = [name for name in settings.MIDDLEWARE if name in TWO_FACTOR_MIDDLEWARE]
    if found == TWO_FACTOR_MIDDLEWARE:
        return []
    return [
        Error(
            "STAFF_TWO_FACTOR is on, but MIDDLEWARE does not list "
            + ", then ".join(TWO_FACTOR_MIDDLEWARE)
            + " in this order.",
            hint="Add them in that order (bookingportal/settings.py does).",
            id="accounts.E010",
        )
    ]
