from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from appointments.forms import (
    AppointmentTypeAdminForm,
    CustomerAdminForm,
    StaffUserChangeForm,
    StaffUserCreationForm,
)
from appointments.models import AppointmentSession, AppointmentType, Customer, LeadGroup

admin.site.site_header = "Booking portal administration"
admin.site.site_title = "Booking portal admin"
admin.site.index_title = "Appointment types, lead groups and customers"


@admin.register(LeadGroup)
class LeadGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "flg_id"]
    search_fields = ["name", "flg_id"]


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    form = AppointmentTypeAdminForm
    list_display = ["name", "lead_group_display", "is_active", "sort_order", "flg_id"]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["is_active", ("lead_group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug", "flg_id", "description"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["lead_group"]
    fieldsets = [
        (None, {"fields": ["name", "description", "is_active", "sort_order"]}),
        ("In FLG 360", {"fields": ["flg_id", "lead_group"]}),
        ("Address", {"fields": ["slug"], "classes": ["collapse"]}),
    ]

    @admin.display(description="lead group", ordering="lead_group__name")
    def lead_group_display(self, obj: AppointmentType) -> str:
        return obj.lead_group.name if obj.lead_group else "All lead groups"


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = ["email", "full_name", "lead_id", "lead_group"]
    list_filter = [("lead_group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__email", "user__first_name", "user__last_name", "lead_id"]
    list_select_related = ["user", "lead_group"]
    fieldsets = [
        ("Sign-in", {"fields": ["email", "first_name", "last_name", "password"]}),
        ("In FLG 360", {"fields": ["lead_id", "lead_group"]}),
    ]

    @admin.display(description="email", ordering="user__email")
    def email(self, obj: Customer) -> str:
        return obj.user.email

    @admin.display(description="name", ordering="user__last_name")
    def full_name(self, obj: Customer) -> str:
        return obj.user.get_full_name()


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "open":
            return queryset.filter(closes_at__gt=now)
        if self.value() == "closed":
            return queryset.filter(closes_at__lte=now)
        return queryset


@admin.register(AppointmentSession)
class AppointmentSessionAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "appointment_type",
        "customer_email",
        "lead_id",
        "closes_at",
        "is_open",
    ]
    list_filter = [OpenFilter, "appointment_type"]
    search_fields = ["customer__user__email", "lead_id", "flg_session_id"]
    list_select_related = ["appointment_type", "customer__user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    @admin.display(description="customer", ordering="customer__user__email")
    def customer_email(self, obj: AppointmentSession) -> str:
        return obj.customer.user.email

    @admin.display(description="open", boolean=True)
    def is_open(self, obj: AppointmentSession) -> bool:
        return obj.is_open

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


User = get_user_model()
admin.site.unregister(User)


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
