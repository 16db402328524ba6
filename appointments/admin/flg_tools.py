"""The FLG tools on the appointment type list: the webhook's URL, the connection check, verify."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from appointments import leads, services
from appointments.forms import VerifyForm
from appointments.models import AppointmentType, Customer
from flg import connection
from flg.errors import FlgError


class FlgToolsAdmin(admin.ModelAdmin):
    """The appointment type admin's FLG pages and its "Verify with FLG" action."""

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
