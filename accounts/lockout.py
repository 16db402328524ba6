"""django-axes's database handler, with a limit per rule instead of one for all.

axes records every failed sign-in (email, address, browser) and compares one count with one
limit. The rules in accounts.services.lockout_find count the same records three ways (email
and address, address alone, email alone), each with its own limit.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.http import HttpRequest

from accounts import services


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """The email-and-address count, or the limit itself while any rule locks out."""
        username = get_client_username(request, credentials)
        ip_address = getattr(request, "axes_ip_address", None)
        now = getattr(request, "axes_attempt_time", None)
        if services.lockout_find(username=username, ip_address=ip_address, now=now) is not None:
            return int(get_failure_limit(request, credentials))
        return services.lockout_failures(username=username, ip_address=ip_address, now=now)

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """After a successful sign-in: forget this email's failures from this address only.

        Never the address's failures for other emails, or someone with an account of their
        own could sign in between guesses to start the address's count again.
        """
        username = get_client_username(request, credentials)
        ip_address = getattr(request, "axes_ip_address", None)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=ip_address).delete()
        return int(count)
