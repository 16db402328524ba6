"""An appointment type's id checked with FLG 360 on save, and in the demo, added to the sandbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from appointments import demo, type_checks
from appointments.models import AppointmentType

FlgCheck = AppointmentType.FlgCheck
WHERE_THE_ID_IS = (
    "Copy the id again from FLG 360 (Settings > Appointments, the type's options icon, Properties)."
)


class TypeCheckAdmin(admin.ModelAdmin):
    """Saving a type from its page checks its id with FLG 360; "Check ids with FLG" checks many."""

    def get_urls(self) -> list:
        urls = [
            path(
                "<int:pk>/sandbox-add/",
                self.admin_site.admin_view(self.sandbox_add_view),
                name="appointments_appointmenttype_sandbox_add",
            )
        ]
        return urls + super().get_urls()

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The list's editable columns save too; only the type's own page changes its id.
        if "flg_id" in form.fields:
            id_changed = not change or "flg_id" in form.changed_data
            # After the save is committed: FLG's answer never holds the type's row locked.
            transaction.on_commit(lambda: self._check_one(request, obj, id_changed=id_changed))

    def _check_one(self, request: HttpRequest, obj: AppointmentType, *, id_changed: bool) -> None:
        checked = type_checks.appointment_type_check(appointment_type=obj, id_changed=id_changed)
        if checked.found == FlgCheck.KNOWN:
            messages.success(request, f"{obj}: FLG 360 knows its id.")
        elif checked.found == FlgCheck.UNKNOWN:
            offer = (
                ' This is the demo: "Add it to the sandbox" on its page adds it there too.'
                if demo.sandbox_on()
                else ""
            )
            messages.warning(
                request,
                f"{obj}: FLG 360 does not know the id {obj.flg_id}, so customers are not offered "
                f"this type. {WHERE_THE_ID_IS}{offer}",
            )
        else:
            messages.warning(
                request,
                f"{obj}: saved, but the id could not be checked with FLG 360. {checked.summary}",
            )

    @admin.action(description="Check ids with FLG (creates no session)", permissions=["change"])
    def check_with_flg(self, request: HttpRequest, queryset: QuerySet[AppointmentType]) -> None:
        for appointment_type in queryset:
            self._check_one(request, appointment_type, id_changed=False)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        offer = (
            obj is not None
            and obj.flg_check == FlgCheck.UNKNOWN
            and demo.sandbox_on()
            and self.has_change_permission(request, obj)
        )
        extra_context = {**(extra_context or {}), "offer_sandbox_add": offer}
        return super().change_view(request, object_id, form_url, extra_context)

    def sandbox_add_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The demo's "Add it to the sandbox": the sandbox learns the type, then a new check."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        if not demo.sandbox_on():
            raise PermissionDenied
        obj = get_object_or_404(AppointmentType, pk=pk)
        demo.sandbox_type_add(appointment_type=obj)
        messages.info(request, f"{obj}: added to the FLG sandbox with the id {obj.flg_id}.")
        self._check_one(request, obj, id_changed=False)
        return HttpResponseRedirect(reverse("admin:appointments_appointmenttype_change", args=[pk]))

    @admin.display(description="FLG check", ordering="flg_check")
    def flg_check_display(self, obj: AppointmentType) -> str:
        if obj.flg_check == FlgCheck.UNKNOWN:
            return format_html("<strong>{}</strong>", obj.get_flg_check_display())
        return obj.get_flg_check_display()
