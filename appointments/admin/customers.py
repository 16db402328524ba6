"""Customers: their sign-in, their record in FLG, their booking links and their history."""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts import invites
from appointments import booking_links
from appointments.admin.base import (
    deliveries_table,
    failures_table,
    invites_queued,
    sessions_table,
)
from appointments.admin.filters import (
    CustomerBookedFilter,
    FlgStatusFilter,
    InvitedFilter,
    SignedInFilter,
)
from appointments.admin.importing import CustomerImportAdmin
from appointments.forms import BookingLinksForm, CustomerAdminForm
from appointments.models import AppointmentSession, Customer
from outbox.models import EmailRecord


def _day(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y") if moment else "-"


@admin.register(Customer)
class CustomerAdmin(CustomerImportAdmin):
    form = CustomerAdminForm
    change_list_template = "admin/appointments/customer/change_list.html"
    change_form_template = "admin/appointments/customer/change_form.html"
    readonly_fields = [
        "source",
        "onboarding",
        "booking_links",
        "recent_sessions",
        "recent_failures",
        "recent_deliveries",
    ]
    # What staff look for first; the FLG status, the lead group's id and the history are on
    # the customer's page (the list must fit 1280 px: tests/appointments/test_admin_browser.py).
    list_display = [
        "email",
        "full_name",
        "lead_id",
        "lead_group",
        "invited",
        "last_sign_in",
        "last_booking",
        "source",
    ]
    list_filter = [
        InvitedFilter,
        SignedInFilter,
        CustomerBookedFilter,
        "source",
        ("lead_group", admin.RelatedOnlyFieldListFilter),
        FlgStatusFilter,
    ]
    search_fields = ["user__email", "user__first_name", "user__last_name", "lead_id"]
    list_select_related = ["user", "lead_group"]
    actions = ["send_invitations", "export_booking_links", "revoke_booking_links"]
    fieldsets = [
        ("Sign-in", {"fields": ["email", "first_name", "last_name", "password"]}),
        ("In FLG 360", {"fields": ["lead_id", "lead_group", "flg_status"]}),
        ("Onboarding", {"fields": ["source", "onboarding"]}),
        ("Personal booking links", {"fields": ["booking_links"]}),
        ("History", {"fields": ["recent_sessions", "recent_failures", "recent_deliveries"]}),
    ]

    class Media:
        js = ["js/copy.js"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        # One query for the whole page: the latest invitation and booking as subqueries.
        invites_ = EmailRecord.objects.filter(
            kind=invites.EMAIL_KIND, user_id=OuterRef("user_id")
        ).order_by("-queued_at")
        bookings = AppointmentSession.objects.filter(
            customer=OuterRef("pk"), booked_at__isnull=False
        ).order_by("-booked_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                invited_at=Subquery(invites_.values("queued_at")[:1]),
                invite_status=Subquery(invites_.values("status")[:1]),
                last_booked=Subquery(bookings.values("booked_at")[:1]),
            )
        )

    @admin.display(description="invited", ordering="invited_at")
    def invited(self, obj: Customer) -> str:
        when = _day(getattr(obj, "invited_at", None))
        status = getattr(obj, "invite_status", "")
        return f"{when} ({status})" if status and status != EmailRecord.Status.SENT else when

    @admin.display(description="last sign-in", ordering="user__last_login")
    def last_sign_in(self, obj: Customer) -> str:
        return _day(obj.user.last_login)

    @admin.display(description="last booking", ordering="last_booked")
    def last_booking(self, obj: Customer) -> str:
        return _day(getattr(obj, "last_booked", None))

    @admin.display(description="invitation, sign-in, booking")
    def onboarding(self, obj: Customer) -> str:
        if not obj.pk:
            return "-"
        invited, signed_in, booked = (
            "never" if day == "-" else f"on {day}"
            for day in (self.invited(obj), self.last_sign_in(obj), self.last_booking(obj))
        )
        return (
            f"Last invited {invited}; last signed in {signed_in}; last reported a booking "
            f"{booked}. Invitations are kept {settings.OUTBOX_RECORD_DAYS} days in the email "
            "list."
        )

    def get_urls(self) -> list:
        urls = [
            path(
                "<int:pk>/invite/",
                self.admin_site.admin_view(self.invite_view),
                name="appointments_customer_invite",
            )
        ]
        return urls + super().get_urls()

    def invite_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The "Send invitation" button on a customer's page: one invitation, through the queue."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer.objects.select_related("user"), pk=pk)
        user = customer.user
        if not user.is_active or user.is_staff or user.is_superuser:
            messages.error(request, "Invitations go to active customer accounts only.")
        else:
            messages.success(request, invites_queued(invites.invites_send(users=[user])))
        return HttpResponseRedirect(reverse("admin:appointments_customer_change", args=[pk]))

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
