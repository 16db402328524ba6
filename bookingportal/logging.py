"""Log lines with the request id: JSON in production, readable in development.

Imports nothing of Django's or ours, so gunicorn's master can format its own lines with it
(gunicorn.conf.py) before any of the portal is loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
from contextvars import ContextVar
from typing import Any

# Set by bookingportal.middleware.RequestIdMiddleware for the request being served.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# The `extra` fields a line may carry. An allow-list: whatever else a library hangs on a record
# (Django's whole request object, say) never reaches a log shipper.
EXTRA_FIELDS = (
    "event",
    "method",
    "path",
    "status",
    "latency_ms",
    "user_id",
    "customer_id",
    "flg_status",
    "outcome",
    "appointment_type",
    "status_code",  # Django's own lines about 4xx and 5xx answers
)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(config: dict[str, Any]) -> None:
    """Django's LOGGING_CONFIG: dictConfig, and Python's warnings as log lines too.

    Django no longer routes warnings into logging, so a library's warning (whitenoise's "No
    directory at", a deprecation) would be the one plain line among the JSON ones.
    """
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
