"""What can go wrong when the portal asks FLG 360 for something: one code per kind of failure.

The codes are shared with the portal's failure records; what a customer is told, and with which
HTTP status, is the portal's business and lives beside its views.
"""

from __future__ import annotations

from django.db import models


class ErrorCode(models.TextChoices):
    REJECTED = "rejected", "FLG refused the lead or type (400)"
    KEY_INVALID = "key_invalid", "Access key invalid (401)"
    KEY_FORBIDDEN = "key_forbidden", "Key lacks Appointments (403)"
    UNAVAILABLE = "unavailable", "FLG unavailable"
    PROTOCOL_ERROR = "protocol_error", "Unusable answer from FLG"
    NOT_CONFIGURED = "not_configured", "FLG not configured"


class FlgError(Exception):
    """FLG 360 could not do what we asked. `detail` is for staff and never holds the key."""

    code: ErrorCode = ErrorCode.PROTOCOL_ERROR
    # Worth trying again later: FLG may answer differently in a minute.
    retryable = False

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return self.detail


class FlgNotConfigured(FlgError):
    """FLG_DOMAIN or the access key is not set."""

    code = ErrorCode.NOT_CONFIGURED


class FlgRejected(FlgError):
    """400: FLG did not accept the lead or the appointment type (unknown, or wrong lead group)."""

    code = ErrorCode.REJECTED


class FlgKeyInvalid(FlgError):
    """401: the access key is wrong, revoked or missing."""

    code = ErrorCode.KEY_INVALID


class FlgKeyForbidden(FlgError):
    """403: the access key is valid but lacks 'Allow access to Appointments'."""

    code = ErrorCode.KEY_FORBIDDEN


class FlgUnavailable(FlgError):
    """429, 5xx, a timeout or a refused connection: FLG is busy or down; try again later."""

    code = ErrorCode.UNAVAILABLE
    retryable = True


class FlgBreakerOpen(FlgUnavailable):
    """Not called: the circuit breaker is failing calls fast after repeated failures."""


class FlgBusy(FlgUnavailable):
    """Not called: this process had every FLG slot taken for as long as a start may wait."""


class FlgProtocolError(FlgError):
    """FLG answered something we cannot trust or use."""

    code = ErrorCode.PROTOCOL_ERROR
    retryable = True
