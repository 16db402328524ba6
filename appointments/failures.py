"""What a customer is told when FLG 360 cannot open a booking screen, and with which status.

FLG's errors carry a code and a detail for staff (`flg.errors`); the words and the HTTP status
are the portal's, kept here beside the views that show them.
"""

from __future__ import annotations

from flg.errors import ErrorCode, FlgError

_TRY_LATER = (
    "Online booking is not working just now because of a problem on our side. "
    "Please try again later or contact us."
)

MESSAGES: dict[str, str] = {
    ErrorCode.NOT_CONFIGURED: (
        "Online booking is not switched on yet. Please contact us to book an appointment."
    ),
    ErrorCode.REJECTED: (
        "We could not open the booking screen for this appointment. This needs fixing on our "
        "side; please contact us and we will book it for you."
    ),
    ErrorCode.KEY_INVALID: _TRY_LATER,
    ErrorCode.KEY_FORBIDDEN: _TRY_LATER,
    ErrorCode.UNAVAILABLE: (
        "The booking system is busy or not responding just now. Please try again in a minute."
    ),
    ErrorCode.PROTOCOL_ERROR: (
        "We could not open the booking screen just now. Please try again in a minute; "
        "if it keeps happening, contact us."
    ),
}

# 503 where waiting helps or nothing is set up yet; 502 where FLG answered and we cannot use it.
STATUSES: dict[str, int] = {ErrorCode.NOT_CONFIGURED: 503, ErrorCode.UNAVAILABLE: 503}


def customer_message(error: FlgError) -> str:
    """The plain words a customer sees for this failure (never FLG's own detail)."""
    return MESSAGES[error.code]


def http_status(error: FlgError) -> int:
    """The status of the page or JSON answer that reports this failure."""
    return STATUSES.get(error.code, 502)
