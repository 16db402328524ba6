from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from bookingportal import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", health.favicon),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("appointments.urls")),
]

if settings.FLG_SANDBOX:
    urlpatterns.append(path("sandbox/", include("flg_sandbox.urls")))

handler500 = "bookingportal.errors.server_error"
