from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from appointments.forms import AccountPasswordResetForm, EmailLoginForm
from bookingportal import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", health.favicon),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=AccountPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("appointments.urls")),
]

if settings.FLG_SANDBOX:
    urlpatterns.append(path("sandbox/", include("flg_sandbox.urls")))

handler500 = "bookingportal.errors.server_error"
