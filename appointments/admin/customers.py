from __future__ import annotations

import datetime as dt
import io
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import invites
from appointments import booking_links, importing, leads, services
from appointments.forms import (
    AppointmentTypeAdminForm,
    BookingLinksForm,
    CustomerAdminForm,
    ImportForm,
    VerifyForm,
)
from appointments.models import (
    AppointmentSession,
    AppointmentType,
    Customer,
    FlgFailure,
    LeadDelivery,
    LeadGroup,
)
from flg import connection
from flg.errors import ErrorCode, FlgError

RECENT = 10
# Rows listed on the import's preview; the counts above the table are for every row.
IMPORT_PREVIEW_ROWS = 500


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


def _failures_table(failures: QuerySet[FlgFailure]) -> str:
    rows = failures.select_related("appointment_type", "customer__user")[:RECENT]
    return render_to_string("admin/appointments/includes/failures_table.html", {"rows": rows})


def _deliveries_table(deliveries: QuerySet[LeadDelivery]) -> str:
    rows = deliveries[:RECENT]
    return render_to_string("admin/appointments/includes/deliveries_table.html", {"rows": rows})


def _sessions_table(sessions: QuerySet[AppointmentSession]) -> str:
    rows = sessions.select_related("appointment_type")[:RECENT]
    return render_to_string("admin/appointments/includes/sessions_table.html", {"rows": rows})


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
    list_display = [
        "name",
        "lead_group_display",
        "is_active",
        "sort_order",
        "sessions_24h",
        "failures_24h",
        "flg_id",
    ]
    list_editable = ["is_active", "sort_order"]
    list_filter = ["is_active", ("lead_group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug", "flg_id", "description"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["lead_group"]
    readonly_fields = ["recent_failures"]
    actions = ["verify_with_flg"]
    change_list_template = "admin/appointments/appointmenttype/change_list.html"
    fieldsets = [
        (None, {"fields": ["name", "description", "is_active", "sort_order"]}),
        ("In FLG 360", {"fields": ["flg_id", "lead_group"]}),
        ("Address", {"fields": ["slug"], "classes": ["collapse"]}),
        ("Recent failures", {"fields": ["recent_failures"]}),
    ]

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
        return _failures_table(obj.failures.all())

    def get_urls(self) -> list:
        urls = [
            path(
                "check-flg/",
                self.admin_site.admin_view(self.check_flg_view),
                name="appointments_appointmenttype_check_flg",
            ),
            path(
                "flg-webhook/",
                self.admin_site.admin_view(self.webhook_view),
                name="appointments_appointmenttype_flg_webhook",
            ),
        ]
        return urls + super().get_urls()

    def webhook_view(self, request: HttpRequest) -> HttpResponse:
        """The lead webhook's URL to paste into FLG (token hidden until asked) and FLG's steps."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tokens = settings.FLG_WEBHOOK_TOKENS
        # The token lets anyone write customers: shown only to staff who may change them, and
        # only when asked (a POST, so it is never in a URL, a log line or the browser history).
        may_reveal = request.user.has_perm("appointments.change_customer")
        reveal = request.method == "POST" and "reveal" in request.POST and may_reveal
        url = masked = ""
        if tokens:
            url = request.build_absolute_uri(leads.webhook_path(token=tokens[0]))
            masked = url.replace(tokens[0], "•" * 12)
        configured, status = leads.webhook_status()
        response = TemplateResponse(
            request,
            "admin/appointments/appointmenttype/flg_webhook.html",
            {
                **self.admin_site.each_context(request),
                "title": "FLG 360 lead webhook",
                "opts": self.model._meta,
                "configured": configured,
                "status": status,
                "url": url if reveal else "",
                "masked_url": masked,
                "may_reveal": may_reveal,
                "rotating": len(tokens) == 2,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def check_flg_view(self, request: HttpRequest) -> HttpResponse:
        """Check FLG connection: the logic of `manage.py flg_check`, from the admin."""
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        check = connection.check()
        if check.ok:
            messages.success(request, f"FLG connection works: {check.summary}")
        else:
            messages.error(request, f"FLG connection does not work: {check.summary} {check.advice}")
        configured, status = leads.webhook_status()
        messages.add_message(request, messages.INFO if configured else messages.WARNING, status)
        return HttpResponseRedirect(reverse("admin:appointments_appointmenttype_changelist"))

    @admin.action(
        description="Verify with FLG for a customer (creates a real session)",
        permissions=["change"],
    )
    def verify_with_flg(
        self, request: HttpRequest, queryset: QuerySet[AppointmentType]
    ) -> HttpResponse | None:
        form = VerifyForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            customer = form.cleaned_data["customer"]
            for appointment_type in queryset:
                self._verify_one(request, appointment_type, customer)
            return None
        return TemplateResponse(
            request,
            "admin/appointments/appointmenttype/verify.html",
            {
                **self.admin_site.each_context(request),
                "title": "Verify appointment types with FLG",
                "types": queryset,
                "form": form,
                "action": "verify_with_flg",
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "opts": self.model._meta,
            },
        )

    def _verify_one(
        self, request: HttpRequest, appointment_type: AppointmentType, customer: Customer
    ) -> None:
        try:
            session = services.appointment_type_verify(
                appointment_type=appointment_type, customer=customer
            )
        except FlgError as exc:
            messages.error(
                request,
                f"{appointment_type}: FLG did not create a session "
                f"({exc.code.label}). {exc.detail}",
            )
        except services.SessionLimitReached:
            messages.error(
                request,
                f"{appointment_type}: not checked, too many sessions for this customer in a "
                "minute. Try again shortly.",
            )
        else:
            closes = timezone.localtime(session.closes_at).strftime("%H:%M")
            messages.success(
                request,
                f"{appointment_type}: OK. FLG created a session for lead "
                f"{customer.lead_id}, open until {closes}.",
            )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
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
        return _sessions_table(obj.sessions.all()) if obj.pk else "None yet."

    @admin.display(description="last 10 failures")
    def recent_failures(self, obj: Customer) -> str:
        return _failures_table(obj.failures.all()) if obj.pk else "None yet."

    @admin.display(description="last 10 deliveries from FLG")
    def recent_deliveries(self, obj: Customer) -> str:
        return _deliveries_table(obj.deliveries.all()) if obj.pk else "None yet."

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

    @admin.action(description="Email an invitation to choose a password", permissions=["change"])
    def send_invitations(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        queued = invites.invites_send(
            users=[customer.user for customer in queryset.select_related("user")]
        )
        if queued.queued:
            messages.success(request, _invites_queued(queued))

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
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "opts": self.model._meta,
            },
        )

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
            messages.success(request, _invites_queued(queued))
        return HttpResponseRedirect(changelist)

    @admin.display(description="email", ordering="user__email")
    def email(self, obj: Customer) -> str:
        return obj.user.email

    @admin.display(description="name", ordering="user__last_name")
    def full_name(self, obj: Customer) -> str:
        return obj.user.get_full_name()


def _invites_queued(queued: invites.InviteResult) -> str:
    """What staff are told: how many went to the queue, and where to follow them."""
    progress = (
        reverse("admin:outbox_emailrecord_changelist") + "?" + urlencode({"batch": queued.batch})
    )
    return format_html(
        "{} invitation(s) queued; the worker sends them in the background. Each link works "
        'once, for {} days. <a href="{}">Follow them (queued, sent, failed)</a>.',
        queued.queued,
        settings.PASSWORD_RESET_TIMEOUT // 86400,
        progress,
    )


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


class BookedFilter(admin.SimpleListFilter):
    title = "booked (customer's claim)"
    parameter_name = "booked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Reported booked"), ("no", "Not reported")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(booked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(booked_at__isnull=True)
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
        "booked_by_customer",
    ]
    list_filter = [OpenFilter, BookedFilter, "appointment_type"]
    search_fields = ["customer__user__email", "lead_id", "flg_session_id"]
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

    @admin.display(description="booked (customer's claim)", ordering="booked_at")
    def booked_by_customer(self, obj: AppointmentSession) -> str:
        # The customer's browser said so; FLG 360 holds the appointment itself.
        if obj.booked_at is None:
            return "-"
        return f"Customer reported {timezone.localtime(obj.booked_at):%d %b %H:%M}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FailureCodeFilter(admin.SimpleListFilter):
    title = "what"
    parameter_name = "code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return ErrorCode.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(code=self.value()) if self.value() else queryset


@admin.register(FlgFailure)
class FlgFailureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "what", "status", "appointment_type", "customer", "action"]
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

    @admin.display(description="what", ordering="code")
    def what(self, obj: FlgFailure) -> str:
        return obj.get_code_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LeadDelivery)
class LeadDeliveryAdmin(admin.ModelAdmin):
    """What FLG's lead webhook delivered and what the portal made of it; read only."""

    list_display = ["created_at", "lead_id", "outcome", "changed", "reason", "customer", "source"]
    list_filter = ["outcome", "invited", "created_at"]
    search_fields = ["lead_id", "reason", "customer__user__email"]
    list_select_related = ["customer__user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
