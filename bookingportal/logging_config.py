"""The portal's LOGGING dict (settings.LOGGING), built from the level and the format.

The formatters and filters it names are in bookingportal.logging; gunicorn.conf.py gives
gunicorn's own lines the same ones.
"""

from __future__ import annotations

from typing import Any


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """One console handler, masked and carrying the request id, in `json` or `plain`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "bookingportal.logging.RequestIdFilter"},
            # On every handler: no line, whoever logs it, holds a token from a URL.
            "mask_secrets": {"()": "bookingportal.logging.MaskSecretsFilter"},
        },
        "formatters": {
            "plain": {"()": "bookingportal.logging.PlainFormatter"},
            "json": {"()": "bookingportal.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id", "mask_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Named with no handlers of their own, so the ones Django's DEFAULT_LOGGING gave
            # them (unmasked, in neither format) are dropped and their lines reach ours.
            "django": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "INFO"},
            # Our access line covers every request; Django's own would repeat 4xx/5xx.
            "django.request": {"level": "ERROR"},
            # runserver's line per request (make run): its 4xx and 5xx.
            "django.server": {"level": "WARNING", "handlers": [], "propagate": True},
            "axes": {"level": "WARNING"},
            # Its debug lines name the account a link token belongs to.
            "sesame": {"level": "WARNING"},
        },
    }
