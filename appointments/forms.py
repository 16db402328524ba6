from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordResetForm,
    UserChangeForm,
)
from django.db import transaction

from appointments.models import AppointmentType, Customer

User = get_user_model()


def email_taken(email: str, *, exclude_user_id: int | None = None) -> bool:
    """True when another account already uses this email, in any letter case."""
    users = User._default_manager.filter(email__iexact=email)
    if exclude_user_id is not None:
        users = users.exclude(pk=exclude_user_id)
    return users.exists()


EMAIL_TAKEN_MESSAGE = "Another account already uses this email address (letter case is ignored)."


class EmailLoginForm(AuthenticationForm):
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


class AdminEmailLoginForm(AdminAuthenticationForm):
    """The admin's sign-in, asking for the email address staff sign in with."""

    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class AppointmentTypeAdminForm(forms.ModelForm):
    class Meta:
        model = AppointmentType
        fields = ["name", "description", "is_active", "sort_order", "flg_id", "lead_group", "slug"]
        error_messages = {
            "flg_id": {
                "invalid": (
                    "This is not an FLG appointment type id. It looks like "
                    "39594a1c-72db-4990-a63f-8d5139a5e4e1: copy it from FLG 360's Properties."
                ),
                "unique": "Another appointment type already uses this FLG id.",
            },
            "slug": {"unique": "Another appointment type already uses this address."},
        }


class CustomerAdminForm(forms.ModelForm):
    """A customer and the account they sign in with, edited together."""

    email = forms.EmailField(help_text="The customer signs in with this address.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Optional. Leave empty to keep the current password. A new customer without one "
            "chooses it from an invitation: select them on the customer list and choose "
            "'Email an invitation to choose a password'."
        ),
    )

    class Meta:
        model = Customer
        fields = ["email", "first_name", "last_name", "password", "lead_id", "lead_group"]
        error_messages = {
            "lead_id": {"unique": "Another customer is already linked to this lead id."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            user = self.instance.user
            self.initial.update(
                email=user.email, first_name=user.first_name, last_name=user.last_name
            )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        own_user = self.instance.user_id if self.instance.pk else None
        # The lower-cased email becomes the username too (see save), which must be free.
        username_taken = (
            User._default_manager.filter(username=email.lower()).exclude(pk=own_user).exists()
        )
        if username_taken or email_taken(email, exclude_user_id=own_user):
            raise forms.ValidationError(EMAIL_TAKEN_MESSAGE)
        return email

    def clean_lead_id(self) -> str:
        return self.cleaned_data["lead_id"].strip()

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            password_validation.validate_password(password)
        return password

    @transaction.atomic
    def save(self, commit: bool = True) -> Customer:
        customer = super().save(commit=False)
        user = customer.user if customer.pk else User(username=self.cleaned_data["email"].lower())
        user.email = self.cleaned_data["email"]
        user.username = user.email.lower()
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        if self.cleaned_data["password"]:
            user.set_password(self.cleaned_data["password"])
        elif not user.pk:
            user.set_unusable_password()
        user.save()
        customer.user = user
        if commit:
            customer.save()
        return customer


class _CaseInsensitiveEmailMixin:
    cleaned_data: dict[str, Any]
    instance: Any

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip()
        if email and email_taken(email, exclude_user_id=self.instance.pk):
            raise forms.ValidationError(EMAIL_TAKEN_MESSAGE)
        return email


class StaffUserCreationForm(_CaseInsensitiveEmailMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")


class StaffUserChangeForm(_CaseInsensitiveEmailMixin, UserChangeForm):
    pass


class InviteRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class AccountPasswordResetForm(PasswordResetForm):
    """Django's reset form, which also reaches customers who never chose a password.

    Imported customers start without one; Django's own form skips them silently, so
    "Forgotten your password?" would send an invited customer nothing.
    """

    def get_users(self, email: str) -> Any:
        return User._default_manager.filter(email__iexact=email, is_active=True).iterator()
