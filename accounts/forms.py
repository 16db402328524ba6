"""The forms people sign in and look after their account with, and staff edit accounts with."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordResetForm,
    UserChangeForm,
)

from accounts import services
from outbox import services as outbox

# The kind of email the worker makes with accounts.emails.password_reset_render.
PASSWORD_RESET = "password_reset"  # noqa: S105 (a name, not a password)

EMAIL_TAKEN_MESSAGE = "Another account already uses this email address (letter case is ignored)."


class _LockoutWarningMixin:
    """On the wrong password before the lockout, say that the next one will pause sign-in."""

    request: Any
    forgotten_hint = (
        " If you are not sure of it, choose a new one with “Forgotten your password?” below."
    )

    def get_invalid_login_error(self) -> forms.ValidationError:
        error: forms.ValidationError = super().get_invalid_login_error()  # type: ignore[misc]
        # django-axes counted this failure while the form authenticated.
        failures = getattr(self.request, "axes_failures_since_start", None)
        if failures is None or services.failures_before_lockout(failures=failures) != 1:
            return error
        warning = forms.ValidationError(
            "One more wrong password will pause sign-in with this email address for "
            f"{settings.AXES_COOLOFF_MINUTES} minutes." + self.forgotten_hint,
            code="lockout_next",
        )
        return forms.ValidationError([error, warning])


class _SignInEmailMixin:
    cleaned_data: dict[str, Any]

    def clean_username(self) -> str:
        # The backend and the lockout normalise it too; doing it here keeps all three agreed.
        return services.email_normalise(self.cleaned_data.get("username") or "")


class EmailLoginForm(_LockoutWarningMixin, _SignInEmailMixin, AuthenticationForm):
    """Django's sign-in form, asking for an email address instead of a username."""

    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email address and password do not match an account. "
            "Check them and try again, or reset your password."
        ),
    }


class AdminEmailLoginForm(_LockoutWarningMixin, _SignInEmailMixin, AdminAuthenticationForm):
    """The admin's sign-in, asking for the email address staff sign in with."""

    forgotten_hint = ""

    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class _CaseInsensitiveEmailMixin:
    cleaned_data: dict[str, Any]
    instance: Any

    def clean_email(self) -> str:
        email = services.email_stored(self.cleaned_data.get("email") or "")
        if email and services.email_taken(email, exclude_user_id=self.instance.pk):
            raise forms.ValidationError(EMAIL_TAKEN_MESSAGE)
        return email


class StaffUserCreationForm(_CaseInsensitiveEmailMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")


class StaffUserChangeForm(_CaseInsensitiveEmailMixin, UserChangeForm):
    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        staff = cleaned.get("is_staff", self.instance.is_staff)
        superuser = cleaned.get("is_superuser", self.instance.is_superuser)
        if staff or superuser:
            try:
                services.staff_grant_check(user=self.instance)
            except services.StaffCustomerMixed as refused:
                raise forms.ValidationError(str(refused)) from None
        return cleaned


class InviteRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class SignInLinkForm(InviteRequestForm):
    """The address to email a sign-in link to."""


class AccountPasswordResetForm(PasswordResetForm):
    """Django's reset form, which also reaches customers who never chose a password.

    Imported customers start without one; Django's own form skips them silently, so
    "Forgotten your password?" would send an invited customer nothing. Staff accounts are
    skipped: an emailed link never opens the admin, so staff get a new password from another
    staff member (the admin's user page) or `manage.py create_staff --reset-password`.
    """

    def get_users(self, email: str) -> Any:
        users = services.users_with_email(email).filter(is_active=True)
        return users.exclude(pk__in=services.users_staff()).iterator()

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Queue the reset email for each account with the address (the worker makes the link),
        or the same trip to the queue for an address nobody has."""
        users = list(self.get_users(self.cleaned_data["email"]))
        for user in users:
            outbox.email_queue(
                kind=PASSWORD_RESET, user_id=user.pk, email=user.email, priority=outbox.URGENT
            )
        if not users:
            outbox.email_queue_none()
