"""How many emails the public forms may send: one limit for every form that sends mail.

Password reset, invitation renewal and sign-in links each send an email to an address anyone
can type. Without a limit, the forms are a way to flood someone's inbox (or our mail
provider's quota). Each email costs one slot for the address and one for the client address
asking; either running out means no email, and the form answers exactly as if it had sent one.

Counts live in the cache, so every worker shares them. The cache is a help, not a dependency:
when it fails, this process counts on its own until it is back.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

from accounts import services

EMAILS_PER_ADDRESS = 3
EMAILS_PER_CLIENT = 20
WINDOW_SECONDS = 60 * 60

logger = logging.getLogger("accounts.limits")


def normalise_email(email: str) -> str:
    """The form of an address the limit counts by: the one sign-in compares (A-Z case ignored)."""
    return services.email_normalise(email)


def _key(kind: str, value: str) -> str:
    # Hashed: the cache holds no email addresses, and any value makes a valid key.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"email-limit:{kind}:{digest}"


def _count(key: str) -> int:
    """Count one more use of `key` in its window (an hour from its first use); the new count.

    While Redis is out, the cache backend (bookingportal.cache) counts in this process.
    """
    # add() only starts a window that is not running; incr() keeps the window's expiry.
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:
        # The window ended between the two calls: this use starts the next one.
        cache.add(key, 1, WINDOW_SECONDS)
        return 1


def email_allowed(*, email: str, client_ip: str | None) -> bool:
    """Take a slot to email `email` at the request of `client_ip`; False when either is spent.

    Both counts move on every request, sent or not, so asking more often never helps.
    """
    per_address = _count(_key("address", normalise_email(email)))
    per_client = _count(_key("client", client_ip or "unknown"))
    return per_address <= EMAILS_PER_ADDRESS and per_client <= EMAILS_PER_CLIENT
