from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from bookingportal import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", health.favicon),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("brand/", include("business.urls")),
    path("", include("privacy.urls")),
    path("", include("appointments.urls")),
]

if settings.FLG_SANDBOX and (settings.DEBUG or settings.FLG_SANDBOX_DEMO_HOST):
    # Never by accident on a production host: with DEBUG off, only on a declared demo host
    # (otherwise flg.E002 says why it is missing).
    urlpatterns.append(path("sandbox/", include("flg_sandbox.urls")))

handler400 = "bookingportal.errors.bad_request"
handler500 = "bookingportal.errors.server_error"
