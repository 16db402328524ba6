from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from flg_sandbox import services
from flg_sandbox.models import AccessKey, ApiCall, AppointmentType, Fault, Lead, Session


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccessKeyAdmin(admin.ModelAdmin):
    # A key is typed in once, when it is added, and never shown again, not even to staff.
    list_display = ["name", "key_masked", "allow_appointments"]
    list_editable = ["allow_appointments"]
    readonly_fields = ["key_masked"]

    @admin.display(description="key")
    def key_masked(self, obj: AccessKey) -> str:
        return obj.key_masked

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        key = "key_masked" if obj is not None else "key"
        return ("name", key, "allow_appointments")


def _report(request: HttpRequest, sent: services.WebhookSent) -> None:
    messages.add_message(request, messages.SUCCESS if sent.ok else messages.ERROR, sent.message)


class LeadAdmin(admin.ModelAdmin):
    """Leads as FLG holds them; saving one pushes it to the webhook URL, as FLG's action does."""

    list_display = [
        "lead_id",
        "full_name",
        "email",
        "lead_group_id",
        "lead_group_name",
        "status",
    ]
    search_fields = ["lead_id", "name", "first_name", "last_name", "email"]
    actions = ["send_webhook"]
    fields = [
        "lead_id",
        "title",
        "first_name",
        "last_name",
        "name",
        "email",
        "lead_group_id",
        "lead_group_name",
        "status",
    ]

    def save_model(self, request: HttpRequest, obj: Lead, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not settings.FLG_SANDBOX_WEBHOOK_URL:
            return
        # After the commit: the receiver (the portal, perhaps in this very process) reads and
        # writes the same database, and must not wait on this transaction's locks.
        transaction.on_commit(
            lambda: _report(request, services.lead_webhook_send(lead=obj)), robust=True
        )

    @admin.action(description="Send webhook (post the lead as FLG 360 would)")
    def send_webhook(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        for lead in queryset:
            _report(request, services.lead_webhook_send(lead=lead))


class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "lead_group_id"]
    search_fields = ["name", "id"]


class SessionAdmin(ReadOnlyAdmin):
    list_display = [
        "session_id",
        "lead",
        "appointment_type",
        "created_at",
        "closes_at",
        "booked_slot",
        "closed_at",
    ]
    list_filter = ["appointment_type"]
    list_select_related = ["lead", "appointment_type"]


class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "status", "lead", "appointment_type", "fault"]
    list_filter = ["status", "fault"]


class FaultAdmin(admin.ModelAdmin):
    list_display = ["__str__", "latency_ms", "hang_seconds", "times", "updated_at"]
    list_editable = ["latency_ms", "hang_seconds", "times"]
    list_display_links = ["__str__"]
    fields = ["mode", "latency_ms", "hang_seconds", "times"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not Fault.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


if settings.FLG_SANDBOX and (settings.DEBUG or settings.FLG_SANDBOX_DEMO_HOST):
    admin.site.register(AccessKey, AccessKeyAdmin)
    admin.site.register(Lead, LeadAdmin)
    admin.site.register(AppointmentType, AppointmentTypeAdmin)
    admin.site.register(Session, SessionAdmin)
    admin.site.register(ApiCall, ApiCallAdmin)
    admin.site.register(Fault, FaultAdmin)
