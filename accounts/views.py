from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.generic import FormView

from accounts import invites, metrics
from accounts.forms import InviteRequestForm


def not_linked(request: HttpRequest) -> HttpResponse:
    """A signed-in account that no customer record points at: nothing to book yet."""
    return render(request, "accounts/not_linked.html")


def lockout(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """Too many wrong passwords from this address for this email: say when to try again."""
    metrics.lockouts.inc()
    minutes = settings.AXES_COOLOFF_MINUTES
    retry_at = timezone.localtime(timezone.now() + dt.timedelta(minutes=minutes))
    page = render(
        request,
        "registration/lockout.html",
        {"minutes": minutes, "retry_at": retry_at},
        status=429,
    )
    page["Retry-After"] = str(minutes * 60)
    return page


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """An invited customer chooses a password and is signed in straight away."""

    template_name = "registration/invite_confirm.html"
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.EmailBackend"
    success_url = reverse_lazy("home")


class InviteRenewView(FormView):
    """A customer whose invitation expired asks for a new one (the reset form skips them)."""

    template_name = "registration/invite_renew.html"
    form_class = InviteRequestForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: InviteRequestForm) -> HttpResponse:
        invites.invite_renew(
            email=form.cleaned_data["email"], base_url=self.request.build_absolute_uri("/")
        )
        return super().form_valid(form)
