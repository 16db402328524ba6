"""Customers from a CSV file in the admin: upload, preview (nothing written), signed confirm;
a template to start from, and with "import the good rows", the refused rows as a CSV to fix."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from accounts import invites
from appointments import import_file, importing
from appointments.admin.base import invites_queued
from appointments.forms import ImportForm

# Rows listed on the import's preview; the counts above the table are for every row.
IMPORT_PREVIEW_ROWS = 500
SALT = "customer-import"
REFUSED_SALT = "customer-import-refused"


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _refused_context(refused: list[import_file.RefusedRow], header: list[str]) -> dict[str, Any]:
    """The refused rows for the page, and the signed CSV of them its download button sends."""
    text = import_file.refused_csv(header=header, rows=refused)
    return {
        "refused": refused[:IMPORT_PREVIEW_ROWS],
        "refused_count": len(refused),
        "refused_payload": signing.dumps(text, salt=REFUSED_SALT, compress=True),
    }


class CustomerImportAdmin(admin.ModelAdmin):
    """The customer admin's "Import customers" page, offered to staff who may add and change."""

    def get_urls(self) -> list:
        urls = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="appointments_customer_import",
            ),
            path(
                "import/template.csv",
                self.admin_site.admin_view(self.import_template_view),
                name="appointments_customer_import_template",
            ),
            path(
                "import/refused.csv",
                self.admin_site.admin_view(self.import_refused_view),
                name="appointments_customer_import_refused",
            ),
        ]
        return urls + super().get_urls()

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        """The header row the import expects and one example row."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        return _csv(import_file.template_csv(), "customers-template.csv")

    def import_refused_view(self, request: HttpRequest) -> HttpResponse:
        """The rows a partial import left out, each with its problem (a POST: no names in URLs)."""
        if request.method != "POST" or not self.has_import_permission(request):
            raise PermissionDenied
        try:
            text = signing.loads(request.POST.get("refused", ""), salt=REFUSED_SALT, max_age=3600)
        except signing.BadSignature:
            messages.error(request, "That list has expired. Please upload the file again.")
            return HttpResponseRedirect(reverse("admin:appointments_customer_import"))
        return _csv(text, "customers-refused.csv")

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
            return self._import_confirm(request, context)
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            partial = form.cleaned_data["partial"]
            if upload.size > importing.MAX_BYTES:
                form.add_error("file", "The file is over 2 MB; split it into smaller files.")
            else:
                data = upload.read()
                try:
                    plan = importing.customers_import_plan(data=data, partial=partial)
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
                            "partial": partial,
                        },
                        salt=SALT,
                        compress=True,
                    )
                    context["send_invites"] = form.cleaned_data["send_invites"]
                    if plan.errors:
                        context.update(_refused_context(plan.refused, plan.header))
        context["form"] = form
        return render(request, "admin/appointments/customer/import.html", context)

    def _import_confirm(self, request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
        changelist = reverse("admin:appointments_customer_changelist")
        try:
            payload = signing.loads(request.POST["payload"], salt=SALT, max_age=60 * 60)
        except signing.BadSignature:
            messages.error(request, "That preview has expired. Please upload the file again.")
            return HttpResponseRedirect(reverse("admin:appointments_customer_import"))
        data = payload["data"].encode()
        try:
            result = importing.customers_import_apply(
                data=data, partial=payload.get("partial", False)
            )
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
        if not result.refused:
            return HttpResponseRedirect(changelist)
        # The rows left out stay on screen, with their CSV, for a second pass.
        header = import_file.header_read(import_file.csv_reader(payload["data"]))
        context.update(_refused_context(result.refused, header), done=True)
        return render(request, "admin/appointments/customer/import.html", context)
