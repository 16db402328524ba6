"""ASGI entry point, for completeness; production runs the WSGI application under gunicorn."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookingportal.settings")

application = get_asgi_application()
