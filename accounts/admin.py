"""The staff side of accounts: users edited by email, and the admin's own sign-in."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.forms import AdminEmailLoginForm, StaffUserChangeForm, StaffUserCreationForm

admin.site.login_form = AdminEmailLoginForm

User = get_user_model()
admin.site.unregister(User)
# Devices are set up by their owner and reset by the action below; their own admin pages
# would show recovery codes and let a key be typed in for someone else.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    # Django's columns, and whether each has set up their authenticator app.
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "has_two_factor")
    actions = ["reset_two_factor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        app = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(two_factor_enrolled=Exists(app))

    @admin.display(boolean=True, description="two-factor", ordering="two_factor_enrolled")
    def has_two_factor(self, obj: object) -> bool:
        return bool(getattr(obj, "two_factor_enrolled", False))

    def has_reset_two_factor_permission(self, request: HttpRequest) -> bool:
        return two_factor.may_reset(request.user)

    @admin.action(
        description="Reset two-factor (they set up their app again at next sign-in)",
        permissions=["reset_two_factor"],
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        names = []
        for user in queryset:
            two_factor.two_factor_reset(user=user, by=request.user)
            self.log_change(request, user, "Reset two-factor sign-in.")
            names.append(user.get_username())
        self.message_user(
            request,
            f"Two-factor reset for {', '.join(names)}: their app and recovery codes no longer "
            "work, and they set up a new app when they next sign in.",
            messages.SUCCESS,
        )
