"""Lead groups and appointment types: what staff set up so customers can book."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from appointments.admin.base import failures_table
from appointments.admin.flg_tools import FlgToolsAdmin
from appointments.admin.type_checks import TypeCheckAdmin
from appointments.forms import AppointmentTypeAdminForm
from appointments.models import AppointmentSession, AppointmentType, FlgFailure, LeadGroup


def _count_since(
    model: type[AppointmentSession] | type[FlgFailure], since: dt.datetime
) -> Coalesce:
    rows = (
        model._default_manager.filter(appointment_type=OuterRef("pk"), created_at__gte=since)
        .order_by()
        .values("appointment_type")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(LeadGroup)
class LeadGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "flg_id"]
    search_fields = ["name", "flg_id"]


@admin.register(AppointmentType)
class AppointmentTypeAdmin(TypeCheckAdmin, FlgToolsAdmin):
    form = AppointmentTypeAdminForm
    list_display = [
        "name",
        "lead_group_display",
        "is_active",
        "sort_order",
        "sessions_24h",
        "failures_24h",
        "flg_check_display",
    ]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["is_active", "flg_check", ("lead_group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug", "flg_id", "description"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["lead_group"]
    readonly_fields = ["flg_check", "flg_checked_at", "flg_check_note", "recent_failures"]
    actions = ["check_with_flg", "verify_with_flg"]
    change_list_template = "admin/appointments/appointmenttype/change_list.html"
    change_form_template = "admin/appointments/appointmenttype/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "description", "is_active", "sort_order"]}),
        (
            "In FLG 360",
            {"fields": ["flg_id", "lead_group", "flg_check", "flg_checked_at", "flg_check_note"]},
        ),
        ("Address", {"fields": ["slug"], "classes": ["collapse"]}),
        ("Recent failures", {"fields": ["recent_failures"]}),
    ]

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:
        base = super().get_changelist_form(request, **kwargs)

        class Labelled(base):  # type: ignore[valid-type,misc]
            """The list's editable fields, each named for a screen reader ("Active: Survey")."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                for name, field in self.fields.items():
                    label = field.label or name
                    field.widget.attrs["aria-label"] = f"{label}: {self.instance}"

        return Labelled

    def get_queryset(self, request: HttpRequest) -> QuerySet[AppointmentType]:
        since = timezone.now() - dt.timedelta(hours=24)
        return (
            super()
            .get_queryset(request)
            .annotate(
                sessions_24h=_count_since(AppointmentSession, since),
                failures_24h=_count_since(FlgFailure, since),
            )
        )

    @admin.display(description="lead group", ordering="lead_group__name")
    def lead_group_display(self, obj: AppointmentType) -> str:
        return obj.lead_group.name if obj.lead_group else "All lead groups"

    @admin.display(description="sessions (24 h)", ordering="sessions_24h")
    def sessions_24h(self, obj: AppointmentType) -> int:
        return obj.sessions_24h  # type: ignore[attr-defined]

    @admin.display(description="failures (24 h)", ordering="failures_24h")
    def failures_24h(self, obj: AppointmentType) -> str:
        count = obj.failures_24h  # type: ignore[attr-defined]
        if not count:
            return "0"
        url = reverse("admin:appointments_flgfailure_changelist")
        return format_html(
            '<a href="{}?appointment_type__id__exact={}"><strong>{}</strong></a>',
            url,
            obj.pk,
            count,
        )

    @admin.display(description="last 10 failures")
    def recent_failures(self, obj: AppointmentType) -> str:
        if not obj.pk:
            return "None yet."
        return failures_table(obj.failures.all())
