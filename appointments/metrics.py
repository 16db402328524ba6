"""The booking product's figures, for Prometheus: sessions, bookings, lead deliveries.

Counted where they happen; bookingportal/metrics.py serves them. No label carries a lead id, an
email or anything else about one customer.
"""

from __future__ import annotations

from prometheus_client import Counter

SESSION_RESULTS = ("created", "reused")

sessions_started = Counter(
    "portal_sessions_started",
    "Booking starts (Book, start over): a session created with FLG, or a just-created one reused.",
    ["result"],
)
sessions_refreshed = Counter(
    "portal_sessions_refreshed",
    "Sessions replaced before FLG closed them (by the page's script or on reload): a new one "
    "created with FLG, or one another tab had just made reused.",
    ["result"],
)
# Counted in appointments.bookings.booking_record, once per session (another report of
# the same session, from a second tab, counts nothing).
bookings_reported = Counter(
    "portal_bookings_reported",
    "Sessions the booking page reported as booked (the customer's own claim).",
)

# The lead webhook: a delivery applied is counted with its outcome where it is recorded
# (appointments.leads); one answered with a 4xx (malformed, too large, not a form) is
# "refused", and one the portal could not store (503) "unavailable" (appointments.views).
# Never the lead id.
WEBHOOK_OUTCOMES = (
    "created",
    "updated",
    "unchanged",
    "skipped",
    "conflict",
    "refused",
    "unavailable",
)
webhook_deliveries = Counter(
    "portal_webhook_deliveries",
    "Lead deliveries from FLG's webhook, by outcome.",
    ["outcome"],
)

for _result in SESSION_RESULTS:
    sessions_started.labels(_result)
    sessions_refreshed.labels(_result)
for _outcome in WEBHOOK_OUTCOMES:
    webhook_deliveries.labels(_outcome)
