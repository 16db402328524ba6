"""How often the public forms may email an address: spaced out, never locked for an hour.

Password reset, invitation renewal and sign-in links each send an email to an address anyone
can type. Without a limit, the forms are a way to flood someone's inbox (or our mail provider's
quota). With a quota per hour, they were a way to lock a customer out: three requests from a
stranger used it up. So instead:

- Per address, a spacing: one email, then none for EMAIL_ADDRESS_SPACING seconds (60), the
  wait doubling with each email of the hour (60 s, 2, 4, 8 min) up to the lifetime of a sign-in
  link (15 min). A stranger asking again and again sends the customer at most about seven
  emails an hour, each with a working link; the customer waits at most one link's lifetime,
  while the last email's link still works. Refused requests move nothing for the address.
- The spacing starts again at 60 s once the address's owner signs in with an emailed link.
- Per client address, EMAILS_PER_CLIENT requests an hour, counted on every request: the cost
  falls on whoever asks, not on the address asked about.

Either limit reached means no email, and the form answers exactly as if it had sent one.
Counts live in the cache, so every worker shares them; while Redis is out, the cache backend
(bookingportal.cache) counts in this process.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

from accounts import services

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
    """Count one more use of `key` in its window (an hour from its first use); the new count."""
    # add() only starts a window that is not running; incr() keeps the window's expiry.
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:
        # The window ended between the two calls: this use starts the next one.
        cache.add(key, 1, WINDOW_SECONDS)
        return 1


def spacing_seconds(*, sent: int) -> int:
    """The wait after an address's email when `sent` emails went to it before in the hour."""
    base = settings.EMAIL_ADDRESS_SPACING
    longest = max(base, settings.SIGN_IN_LINK_MINUTES * 60)
    return int(min(base * 2 ** min(sent, 20), longest))


def email_allowed(*, email: str, client_ip: str | None) -> bool:
    """Take a slot to email `email` at the request of `client_ip`; False when none is free."""
    if _count(_key("client", client_ip or "unknown")) > EMAILS_PER_CLIENT:
        return False
    address = normalise_email(email)
    sent = int(cache.get(_key("sent", address)) or 0)
    # add() succeeds for one request only while the wait runs: two at once cannot both pass.
    if not cache.add(_key("wait", address), 1, spacing_seconds(sent=sent)):
        return False
    _count(_key("sent", address))
    return True


def email_limit_reset(*, email: str) -> None:
    """The address's owner signed in with an emailed link: the spacing starts again."""
    address = normalise_email(email)
    cache.delete_many([_key("sent", address), _key("wait", address)])
