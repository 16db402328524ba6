"""What a customer is told when FLG 360 cannot open a booking screen, and with which status.

FLG's errors carry a code and a detail for staff (`flg.errors`); the words and the HTTP status
are the portal's, kept here beside the views that show them.
"""

from __future__ import annotations

from django.conf import settings

from flg.errors import (
    ErrorCode,
    FlgBreakerOpen,
    FlgBusy,
    FlgError,
    FlgKeyForbidden,
    FlgKeyInvalid,
    FlgNotConfigured,
    FlgProtocolError,
    FlgRejected,
    FlgUnavailable,
)

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
        "The booking system is not responding just now. Please try again in a minute."
    ),
    ErrorCode.PROTOCOL_ERROR: (
        "We could not open the booking screen just now. Please try again in a minute; "
        "if it keeps happening, contact us."
    ),
}

# 503 where waiting helps or nothing is set up yet; 502 where FLG answered and we cannot use it.
STATUSES: dict[str, int] = {ErrorCode.NOT_CONFIGURED: 503, ErrorCode.UNAVAILABLE: 503}


# FLG is fine but this portal had no room for one more call for as long as a start may wait.
BUSY_MESSAGE = (
    "So many people are booking at this moment that we could not open your booking screen. "
    "Please try again in a minute."
)


def customer_message(error: FlgError) -> str:
    """The plain words a customer sees for this failure (never FLG's own detail)."""
    if isinstance(error, FlgBusy):
        return BUSY_MESSAGE
    return MESSAGES[error.code]


_ERRORS: dict[str, type[FlgError]] = {
    ErrorCode.NOT_CONFIGURED: FlgNotConfigured,
    ErrorCode.REJECTED: FlgRejected,
    ErrorCode.KEY_INVALID: FlgKeyInvalid,
    ErrorCode.KEY_FORBIDDEN: FlgKeyForbidden,
    ErrorCode.UNAVAILABLE: FlgUnavailable,
    ErrorCode.PROTOCOL_ERROR: FlgProtocolError,
}


def error_from_record(*, code: str, detail: str) -> FlgError:
    """The error a recorded failure was, for the starts that queued behind it: the same words
    for the customer (busy, the breaker, or FLG itself) and the same detail for staff."""
    if code == ErrorCode.UNAVAILABLE and detail.startswith("Not calling FLG: all"):
        return FlgBusy(detail)
    if code == ErrorCode.UNAVAILABLE and detail.startswith("Not calling FLG: the circuit"):
        return FlgBreakerOpen(detail)
    return _ERRORS.get(code, FlgProtocolError)(detail)


def http_status(error: FlgError) -> int:
    """The status of the page or JSON answer that reports this failure."""
    return STATUSES.get(error.code, 502)


# What staff can do about each failure, shown beside it in the admin.
_LEAD_UNKNOWN = (
    "FLG 360 has no lead with this customer's lead id. Check the lead id on the customer's page "
    "against the lead in FLG 360 (digits only)."
)
_SANDBOX_LEAD_UNKNOWN = (
    " In the demo, the sandbox only knows the leads it was given: add this one under "
    "FLG 360 sandbox > Leads with the customer's lead id and lead group, or run with "
    "FLG_SANDBOX_AUTO_LEADS=1 (make run does) so that it creates unknown leads on first use."
)
_TYPE_UNKNOWN = (
    "FLG 360 has no appointment type with this id. Copy the id again from FLG 360 (Settings > "
    "Appointments, the type's Properties) into the appointment type's page."
)
_SANDBOX_TYPE_UNKNOWN = (
    " In the demo, add the type under FLG 360 sandbox > Appointment types with the same id."
)
_GROUP_MISMATCH = (
    "The customer's lead is in another lead group than the appointment type in FLG 360. Give "
    "the customer the lead group their lead has in FLG 360, and the type the lead group it has "
    "there (none if it is for all lead groups)."
)
STAFF_ADVICE: dict[str, str] = {
    ErrorCode.NOT_CONFIGURED: "Set FLG_DOMAIN and FLG_API_KEY (README: Connecting a real FLG "
    "360 account).",
    ErrorCode.KEY_INVALID: "FLG 360 does not accept the access key: create a new one (Settings > "
    "Configuration > Access Keys) and set FLG_API_KEY.",
    ErrorCode.KEY_FORBIDDEN: "Tick 'Allow access to Appointments' on the access key in FLG 360.",
    ErrorCode.UNAVAILABLE: "FLG 360 was busy or did not answer in time, or the portal had every "
    "place for FLG calls taken (the detail says which). Nothing to fix if it passes; if it lasts, "
    "check FLG 360's status and FLG_TIMEOUT, or add capacity (docs/deploy.md, Scaling out).",
    ErrorCode.PROTOCOL_ERROR: "FLG 360 answered in a way the portal cannot use; the detail "
    "says how. A publicUrl on another host means FLG_BOOKING_HOSTS needs that host.",
}


def staff_advice(*, code: str, detail: str) -> str:
    """How staff can fix a failure, from its code and FLG's own words in the detail."""
    text = detail.lower()
    if code == ErrorCode.REJECTED:
        if "lead could not be found" in text:
            return _LEAD_UNKNOWN + (_SANDBOX_LEAD_UNKNOWN if settings.FLG_SANDBOX else "")
        if "appointment type could not be found" in text:
            return _TYPE_UNKNOWN + (_SANDBOX_TYPE_UNKNOWN if settings.FLG_SANDBOX else "")
        if "lead group" in text:
            return _GROUP_MISMATCH
        return "FLG 360 refused the lead or the type: " + _GROUP_MISMATCH
    return STAFF_ADVICE.get(code, "")
