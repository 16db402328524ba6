"""Log lines with the request id: JSON in production, readable in development.

Imports nothing of Django's or ours, so gunicorn's master can format its own lines with it
(gunicorn.conf.py) before any of the portal is loaded.

Every handler, the portal's and gunicorn's, carries MaskSecretsFilter: a token in a URL is a
password, and `mask_secrets` is the one rule that takes it out of a line, whoever logs it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
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


# --- Secrets in URLs -----------------------------------------------------------------------------

# What separates two segments of a path: a slash, repeated or percent-encoded (a `next=`
# parameter carries a whole path encoded).
_SEP = r"(?:/|%2[fF])+"
# One segment: up to the next separator, query, fragment, space or quote, which is where a
# path ends in any line (a request line, a Referer, a message about a path).
_SEGMENT = r"(?:(?!%2[fF])[^/?#\s\"'<>\\])+"
# A token-bearing prefix, then the secret segment; pages at the same place are not secrets.
# Case-insensitive: a link whose address a mail client changed is still a working token.
_SECRET_IN_PATH = re.compile(
    rf"""(?ix)
    (?P<prefix>
        {_SEP}accounts{_SEP}login{_SEP}link{_SEP}(?!(?:sent|continue)(?![^/?#\s"'<>\\]))
      | {_SEP}accounts{_SEP}(?:reset|invite){_SEP}{_SEGMENT}{_SEP}(?!set-password(?![^/?#\s"'<>\\]))
      | {_SEP}book{_SEP}{_SEGMENT}{_SEP}link{_SEP}
      | {_SEP}flg{_SEP}webhooks{_SEP}leads{_SEP}
      | {_SEP}your-data{_SEP}delete{_SEP}link{_SEP}
      | {_SEP}appointments{_SEP}book{_SEP}
    )
    {_SEGMENT}
    """
)
MASK = "[token]"


def mask_secrets(text: str) -> str:
    """`text` with the secret of every token-bearing path in it replaced by `[token]`.

    By shape, not by URL resolution: sign-in and booking links, password-reset and invitation
    links, the lead webhook's URL, and the booking screen's (FLG's and the sandbox's), with or
    without a trailing slash, with anything after them. The prefix stays, so a line still says
    what was asked for.
    """
    return _SECRET_IN_PATH.sub(lambda m: m["prefix"] + MASK, text)


class MaskSecretsFilter(logging.Filter):
    """Mask the secrets in a line's final message, its traceback and its path field.

    On every handler: a record reaches only its own logger's handlers and their parents', so
    a filter on a logger would miss whatever propagates from a child.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string (logging reports it later): keep what can be kept, masked.
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_secrets(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        for field in EXTRA_FIELDS:
            value = getattr(record, field, None)
            if isinstance(value, str):
                setattr(record, field, mask_secrets(value))
        return True


_TRACEBACKS = logging.Formatter()


# --- Control characters --------------------------------------------------------------------------

# C0, DEL, C1, and the two Unicode line separators some viewers break lines at.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with each control character written out (a newline as `\\n`): one line."""
    return _CONTROL.sub(lambda m: _NAMED.get(m[0]) or repr(m[0])[1:-1], text)


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
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, default=str)


PLAIN_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"


class PlainFormatter(logging.Formatter):
    """Readable lines for development, one per record: whatever a message holds (`%0a` in a
    path, decoded) cannot start a line of its own that looks like another record."""

    def __init__(self, fmt: str = PLAIN_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"  # gunicorn's own lines
        # Only this handler's output changes: a record may reach other handlers after this.
        saved = (record.msg, record.args, record.exc_text, record.stack_info)
        try:
            record.msg = escape_controls(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            # A traceback keeps its lines, each indented: a record's line starts with its time.
            if record.exc_text:
                record.exc_text = _indented(record.exc_text)
            if record.stack_info:
                record.stack_info = _indented(record.stack_info)
            return super().format(record)
        finally:
            record.msg, record.args, record.exc_text, record.stack_info = saved


def _indented(text: str) -> str:
    return "\n".join("  " + escape_controls(line) for line in text.split("\n"))


def configure(config: dict[str, Any]) -> None:
    """Django's LOGGING_CONFIG: dictConfig, and Python's warnings as log lines too.

    Django no longer routes warnings into logging, so a library's warning (whitenoise's "No
    directory at", a deprecation) would be the one plain line among the JSON ones.
    """
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
