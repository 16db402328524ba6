"""Getting in, for Prometheus: sign-in link emails and lockouts.

Counted where they happen; bookingportal/metrics.py serves them. No label carries an email.
"""

from __future__ import annotations

from prometheus_client import Counter

# Sign-in link emails: `result="sent"` when one went out (accounts.links), `result="refused"`
# when a limit held it back (accounts.views, per address or per client address). An unknown
# address is neither: nothing was sent, and the page says the same.
SIGN_IN_LINK_RESULTS = ("sent", "refused")
sign_in_link_emails = Counter(
    "portal_sign_in_link_emails",
    "Sign-in link emails asked for: sent, or refused by a limit.",
    ["result"],
)
lockouts = Counter(
    "portal_sign_in_lockouts",
    "Sign-in attempts answered with the lockout page (the one that locks and those during it).",
)

for _result in SIGN_IN_LINK_RESULTS:
    sign_in_link_emails.labels(_result)
