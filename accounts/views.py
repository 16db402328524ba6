from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.generic import FormView

from accounts import invites, services
from accounts.backends import axes_username
from accounts.forms import InviteRequestForm


def not_linked(request: HttpRequest) -> HttpResponse:
    """A signed-in account that no customer record points at: nothing to book yet."""
    return render(request, "accounts/not_linked.html")


def lockout(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """Too many wrong passwords from this address for this email: say when to try again.

    Attempts during the lockout do not extend it, so the time shown is when it really ends.
    """
    ends_at = services.lockout_ends_at(
        username=axes_username(request, credentials),
        ip_address=getattr(request, "axes_ip_address", None),
    )
    page = render(
        request,
        "registration/lockout.html",
        {"minutes": settings.AXES_COOLOFF_MINUTES, "retry_at": timezone.localtime(ends_at)},
        status=429,
    )
    wait = (ends_at - timezone.now()).total_seconds()
    page["Retry-After"] = str(max(1, math.ceil(wait)))
    return page


class SignOutView(auth_views.LogoutView):
    """Django's sign-out (a POST), which also says it worked on the page that follows."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, "You have signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, whose email names the portal and links to PORTAL_URL (not the
    host and port the request happened to arrive on)."""

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = invites.email_context()
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a new password through the emailed link also lifts a sign-in lockout: the
    link proves the person owns the address, which is what the lockout was unsure of."""

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        services.lockout_lift(user=form.user)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = getattr(self, "user", None)
        context["account_email"] = user.email if user is not None else ""
        return context


class InviteAcceptView(PasswordResetConfirmView):
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
        invites.invite_renew(email=form.cleaned_data["email"], base_url=settings.PORTAL_URL)
        return super().form_valid(form)
