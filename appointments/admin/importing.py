"""Customers from a CSV file in the admin: upload, preview (nothing written), signed confirm."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from accounts import invites
from appointments import importing
from appointments.admin.base import invites_queued
from appointments.forms import ImportForm

# Rows listed on the import's preview; the counts above the table are for every row.
IMPORT_PREVIEW_ROWS = 500


class CustomerImportAdmin(admin.ModelAdmin):
    """The customer admin's "Import customers" page, offered to staff who may add and change."""

    def get_urls(self) -> list:
        urls = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="appointments_customer_import",
            )
        ]
        return urls + super().get_urls()

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload, preview (nothing written), then confirm: the same rules as the command."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Import customers from CSV",
            "opts": self.model._meta,
        }
        if request.method == "POST" and "payload" in request.POST:
            return self._import_confirm(request)
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > importing.MAX_BYTES:
                form.add_error("file", "The file is over 2 MB; split it into smaller files.")
            else:
                data = upload.read()
                try:
                    plan = importing.customers_import_plan(data=data)
                except importing.ImportRefused as refused:
                    context["errors"] = refused.errors
                else:
                    context["plan"] = plan
                    # A table of 35,000 rows helps nobody and takes seconds to render.
                    context["rows_shown"] = plan.rows[:IMPORT_PREVIEW_ROWS]
                    context["payload"] = signing.dumps(
                        {
                            "data": data.decode("utf-8-sig"),
                            "invites": form.cleaned_data["send_invites"],
                        },
                        salt="customer-import",
                        compress=True,
                    )
                    context["send_invites"] = form.cleaned_data["send_invites"]
        context["form"] = form
        return render(request, "admin/appointments/customer/import.html", context)

    def _import_confirm(self, request: HttpRequest) -> HttpResponse:
        changelist = reverse("admin:appointments_customer_changelist")
        try:
            payload = signing.loads(
                request.POST["payload"], salt="customer-import", max_age=60 * 60
            )
        except signing.BadSignature:
            messages.error(request, "That preview has expired. Please upload the file again.")
            return HttpResponseRedirect(reverse("admin:appointments_customer_import"))
        try:
            result = importing.customers_import_apply(data=payload["data"].encode())
        except importing.ImportRefused as refused:
            for error in refused.errors:
                messages.error(request, str(error))
            messages.error(request, str(refused))
            return HttpResponseRedirect(reverse("admin:appointments_customer_import"))
        messages.success(
            request,
            f"Imported: {len(result.created)} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.groups_created} lead group(s) created.",
        )
        if payload["invites"] and result.created:
            queued = invites.invites_send(users=[customer.user for customer in result.created])
            messages.success(request, invites_queued(queued))
        return HttpResponseRedirect(changelist)
