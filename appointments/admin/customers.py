"""Customers: their sign-in, their record in FLG, their booking links and their history."""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse

from accounts import invites
from appointments import booking_links
from appointments.admin.base import (
    deliveries_table,
    failures_table,
    invites_queued,
    sessions_table,
)
from appointments.admin.importing import CustomerImportAdmin
from appointments.forms import BookingLinksForm, CustomerAdminForm
from appointments.models import Customer


@admin.register(Customer)
class CustomerAdmin(CustomerImportAdmin):
    form = CustomerAdminForm
    change_list_template = "admin/appointments/customer/change_list.html"
    readonly_fields = ["booking_links", "recent_sessions", "recent_failures", "recent_deliveries"]
    list_display = ["email", "full_name", "lead_id", "lead_group", "flg_status"]
    list_filter = [("lead_group", admin.RelatedOnlyFieldListFilter), "flg_status"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "lead_id"]
    list_select_related = ["user", "lead_group"]
    actions = ["send_invitations", "export_booking_links", "revoke_booking_links"]
    fieldsets = [
        ("Sign-in", {"fields": ["email", "first_name", "last_name", "password"]}),
        ("In FLG 360", {"fields": ["lead_id", "lead_group", "flg_status"]}),
        ("Personal booking links", {"fields": ["booking_links"]}),
        ("History", {"fields": ["recent_sessions", "recent_failures", "recent_deliveries"]}),
    ]

    @admin.display(description="booking links")
    def booking_links(self, obj: Customer) -> str:
        user = obj.user if obj.pk else None
        found = (
            booking_links.booking_links_for_customer(customer=obj, base_url=settings.PORTAL_URL)
            if user is not None and user.is_active and not (user.is_staff or user.is_superuser)
            else []
        )
        return render_to_string(
            "admin/appointments/includes/booking_links.html",
            {"customer": obj, "user": user, "links": found},
        )

    @admin.display(description="last 10 sessions")
    def recent_sessions(self, obj: Customer) -> str:
        return sessions_table(obj.sessions.all()) if obj.pk else "None yet."

    @admin.display(description="last 10 failures")
    def recent_failures(self, obj: Customer) -> str:
        return failures_table(obj.failures.all()) if obj.pk else "None yet."

    @admin.display(description="last 10 deliveries from FLG")
    def recent_deliveries(self, obj: Customer) -> str:
        return deliveries_table(obj.deliveries.all()) if obj.pk else "None yet."

    @admin.action(description="Email an invitation to choose a password", permissions=["change"])
    def send_invitations(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        queued = invites.invites_send(
            users=[customer.user for customer in queryset.select_related("user")]
        )
        if queued.queued:
            messages.success(request, invites_queued(queued))

    @admin.action(description="Revoke booking links", permissions=["change"])
    def revoke_booking_links(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        count = booking_links.booking_links_revoke(customers=queryset)
        messages.success(
            request,
            f"Booking links revoked for {count} customer(s): every link sent to them so far "
            "stops working. New links made from now on work.",
        )

    @admin.action(description="Export booking links (CSV)", permissions=["change"])
    def export_booking_links(
        self, request: HttpRequest, queryset: QuerySet[Customer]
    ) -> HttpResponse | None:
        form = BookingLinksForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            appointment_type = form.cleaned_data["appointment_type"]
            customers = booking_links.booking_links_customers(
                appointment_type=appointment_type, customers=queryset
            )
            out = io.StringIO()
            booking_links.booking_links_csv_write(
                rows=booking_links.booking_links_rows(
                    appointment_type=appointment_type,
                    customers=customers,
                    base_url=settings.PORTAL_URL,
                    days=form.cleaned_data["days"],
                ),
                out=out,
            )
            response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="booking-links-{appointment_type.slug}.csv"'
            )
            response["Cache-Control"] = "private, no-store"
            return response
        return TemplateResponse(
            request,
            "admin/appointments/customer/booking_links.html",
            {
                **self.admin_site.each_context(request),
                "title": "Export booking links",
                "count": queryset.count(),
                "form": form,
                "action": "export_booking_links",
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "opts": self.model._meta,
            },
        )

    @admin.display(description="email", ordering="user__email")
    def email(self, obj: Customer) -> str:
        return obj.user.email

    @admin.display(description="name", ordering="user__last_name")
    def full_name(self, obj: Customer) -> str:
        return obj.user.get_full_name()
