"""WSGI entry point, for gunicorn: `gunicorn bookingportal.wsgi`."""

from __future__ import annotations

import logging
import os
import sys

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookingportal.settings")

# gunicorn's exit status for "worker failed to boot": its master then stops, where any other
# status would have it start the worker again, and fail again, for ever.
WORKER_BOOT_ERROR = 3

try:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    message = f"Configuration error: {exc}"
    if logging.getLogger().handlers:
        # gunicorn.conf.py set up JSON lines: this one too, so a log pipeline needs one parser.
        logging.getLogger("bookingportal.wsgi").critical(message)
        sys.exit(WORKER_BOOT_ERROR)
    print(message, file=sys.stderr, flush=True)
    sys.exit(WORKER_BOOT_ERROR)
