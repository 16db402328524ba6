from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.validators import MaxLengthValidator
from django.db import transaction

from accounts import services
from accounts.forms import EMAIL_TAKEN_MESSAGE
from appointments import booking_links, customers
from appointments.models import AppointmentType, Customer


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


LINKED_TO_STAFF_MESSAGE = (
    "This customer record is linked to a staff account, and a staff account is never a "
    "customer, so it is not changed here: `manage.py unlink_staff_customers` gives it an "
    "account of its own."
)


class CustomerAdminForm(forms.ModelForm):
    """A customer and the account they sign in with, edited together."""

    email = forms.EmailField(help_text="The customer signs in with this address.")
    first_name = forms.CharField(required=False)
    last_name = forms.CharField(required=False)
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
        fields = [
            "email",
            "first_name",
            "last_name",
            "password",
            "lead_id",
            "lead_group",
            "flg_status",
        ]
        error_messages = {
            "lead_id": {"unique": "Another customer is already linked to this lead id."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The limits of the models' own fields (customers.CustomerLimits), never written here.
        limits = customers.CustomerLimits.of_models()
        for name, limit in [
            ("email", limits.email),
            ("first_name", limits.first_name),
            ("last_name", limits.last_name),
        ]:
            field = self.fields[name]
            field.max_length = limit  # type: ignore[attr-defined]
            field.validators.append(MaxLengthValidator(limit))
            field.widget.attrs["maxlength"] = str(limit)
        if self.instance.pk:
            user = self.instance.user
            self.initial.update(
                email=user.email, first_name=user.first_name, last_name=user.last_name
            )

    def clean_email(self) -> str:
        try:
            return customers.email_check(
                email=self.cleaned_data["email"],
                user=self.instance.user if self.instance.pk else None,
            )
        except customers.CustomerRefused as refused:
            # Said plainly for a staff account: "taken" would invite a workaround.
            if refused.code == customers.EMAIL_TAKEN:
                raise forms.ValidationError(EMAIL_TAKEN_MESSAGE) from None
            if refused.code == customers.EMAIL_STAFF:
                raise forms.ValidationError(refused.message) from None
            # The import's wording, a sentence here.
            raise forms.ValidationError(refused.message[:1].upper() + refused.message[1:]) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # A record linked to a staff account (from before the rule, or made in a shell) is not
        # edited here: saving would change the staff account's email and password.
        if self.instance.pk and customers.account_problem(self.instance.user):
            raise forms.ValidationError(LINKED_TO_STAFF_MESSAGE)
        return cleaned

    def clean_lead_id(self) -> str:
        return self.cleaned_data["lead_id"].strip()

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            password_validation.validate_password(password)
        return password

    @transaction.atomic
    def save(self, commit: bool = True) -> Customer:
        data = self.cleaned_data
        values = {
            "email": data["email"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "lead_id": data["lead_id"],
            "lead_group": data["lead_group"],
            "flg_status": data["flg_status"],
            "password": data["password"] or None,
        }
        if self.instance.pk:
            # Read again: the form has already copied its values onto self.instance.
            customer = Customer.objects.select_related("user").get(pk=self.instance.pk)
            customers.customer_update(customer=customer, **values)
        else:
            customer = customers.customer_create(**values, source=Customer.Source.ADMIN)
        self.instance = customer
        # The admin saves the object and its relations after save(commit=False): both saved.
        self.save_m2m = self._save_m2m  # type: ignore[method-assign,attr-defined]
        return customer


class VerifyForm(forms.Form):
    customer = forms.CharField(
        label="Customer's email or lead id",
        help_text="FLG will create a real appointment session for this customer's lead.",
    )

    def clean_customer(self) -> Customer:
        value = self.cleaned_data["customer"].strip()
        customers = Customer.objects.select_related("user", "lead_group")
        found = (
            customers.filter(lead_id=value).first()
            if value.isdigit()
            else customers.filter(user__in=services.users_with_email(value)).first()
        )
        if found is None:
            raise forms.ValidationError(f"No customer has the email or lead id {value!r}.")
        return found


class BookingLinksForm(forms.Form):
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True),
        label="Appointment type",
        help_text="Selected customers who may not book this type are left out of the file.",
    )
    days = forms.IntegerField(
        min_value=1, max_value=booking_links.MAX_DAYS, help_text="How many days the links work."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.BOOKING_LINK_DAYS


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "Columns: email, first_name, last_name, lead_id, lead_group_id and optionally "
            "lead_group_name. UTF-8 (Excel: 'CSV UTF-8'). Nothing is written until you confirm."
        ),
    )
    send_invites = forms.BooleanField(
        required=False, label="Email new customers an invitation to choose a password"
    )
    partial = forms.BooleanField(
        required=False,
        label="Import the good rows and list the bad ones",
        help_text=(
            "Left unticked, one bad row stops the whole file. Ticked, the good rows are "
            "imported and the bad ones are offered as a CSV with the problem on each row, to "
            "fix and import again."
        ),
    )
