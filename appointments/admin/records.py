"""The records the portal writes, read only: appointment sessions, FLG failures, lead deliveries."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.utils import timezone

from appointments.admin.base import ReadOnlyAdmin
from appointments.admin.filters import BookedFilter, FailureCodeFilter, OpenFilter
from appointments.models import UK_TIME, AppointmentSession, FlgFailure, LeadDelivery


@admin.register(AppointmentSession)
class AppointmentSessionAdmin(ReadOnlyAdmin):
    deletable = False
    # What staff look for first, to fit 1280 px: the rest (FLG's ids, closes at, how the
    # booking was learned) is on the session's own page.
    list_display = [
        "created_at",
        "appointment_type",
        "customer_email",
        "is_open",
        "booked_by_customer",
        "appointment_time",
    ]
    list_filter = [OpenFilter, BookedFilter, "appointment_type"]
    # "id": the reference customers quote is its first eight characters.
    search_fields = ["customer__user__email", "lead_id", "flg_session_id", "id"]
    # Read-only, but the change view still builds form fields; say https as Django 6 will.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_select_related = ["appointment_type", "customer__user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    @admin.display(description="customer", ordering="customer__user__email")
    def customer_email(self, obj: AppointmentSession) -> str:
        return obj.customer.user.email

    @admin.display(description="open", boolean=True)
    def is_open(self, obj: AppointmentSession) -> bool:
        return obj.is_open

    @admin.display(description="booked (reported)", ordering="booked_at")
    def booked_by_customer(self, obj: AppointmentSession) -> str:
        # The customer's browser said so; FLG 360 holds the appointment itself.
        if obj.booked_at is None:
            return "-"
        when = f"{timezone.localtime(obj.booked_at):%d %b %H:%M}"
        return f"{when} ({obj.get_booked_via_display()})" if obj.booked_via else when

    @admin.display(description="appointment (UK time)", ordering="slot_starts_at")
    def appointment_time(self, obj: AppointmentSession) -> str:
        # As the booking screen reported it; FLG 360's own record is the one to trust.
        if obj.slot_starts_at is None or obj.slot_ends_at is None:
            return "not known" if obj.booked_at else "-"
        starts, ends = obj.slot_starts_at.astimezone(UK_TIME), obj.slot_ends_at.astimezone(UK_TIME)
        return f"{starts:%a %d %b %Y %H:%M}\u2013{ends:%H:%M}"


@admin.register(FlgFailure)
class FlgFailureAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "what", "status", "appointment_type", "customer_email", "action"]
    list_filter = [
        FailureCodeFilter,
        "action",
        ("appointment_type", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["detail", "customer__user__email", "customer__lead_id"]
    list_select_related = ["appointment_type", "customer__user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = ["how_to_fix"]

    @admin.display(description="customer", ordering="customer__user__email")
    def customer_email(self, obj: FlgFailure) -> str:
        return obj.customer.user.email if obj.customer else "-"

    @admin.display(description="what", ordering="code")
    def what(self, obj: FlgFailure) -> str:
        return obj.get_code_display()


@admin.register(LeadDelivery)
class LeadDeliveryAdmin(ReadOnlyAdmin):
    """What FLG's lead webhook delivered and what the portal made of it; read only."""

    # The source address is on the delivery's page: the list keeps to 1280 px.
    list_display = ["created_at", "lead_id", "outcome", "changed", "reason", "customer_email"]
    list_filter = ["outcome", "invited", "created_at"]
    search_fields = ["lead_id", "reason", "customer__user__email"]
    list_select_related = ["customer__user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    @admin.display(description="customer", ordering="customer__user__email")
    def customer_email(self, obj: LeadDelivery) -> str:
        return obj.customer.user.email if obj.customer else "-"
