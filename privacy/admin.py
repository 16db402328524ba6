"""Staff side of privacy: erasing customers, the erasures made, and the audit trail.

The "Erase" action is attached to the Customer admin that appointments registers, and its
booking-link export and invitations are recorded in the audit trail, from here: appointments
imports nothing of privacy (tests/test_layout.py). privacy is installed after appointments, so
its admin is loaded after theirs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse

from appointments.models import Customer
from privacy import audit, erasure, export
from privacy.models import Erasure


@admin.register(Erasure)
class ErasureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "reason", "customer_id", "by", "lead_id_kept", "removed"]
    list_filter = ["reason", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActorFilter(admin.SimpleListFilter):
    title = "who"
    parameter_name = "who"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("staff", "Staff"), ("customer", "Customers"), ("system", "The system or FLG")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "staff":
            return queryset.filter(actor__is_staff=True)
        if self.value() == "customer":
            return queryset.filter(actor__isnull=False, actor__is_staff=False)
        if self.value() == "system":
            return queryset.filter(actor__isnull=True)
        return queryset


class EventFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event"
    EVENTS = [
        audit.BOOKING_LINKS_EXPORTED,
        audit.INVITATIONS_SENT,
        audit.CUSTOMER_ERASED,
        audit.DATA_DOWNLOADED,
    ]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(event, event.capitalize()) for event in self.EVENTS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in self.EVENTS:
            return queryset.filter(additional_data__event=self.value())
        return queryset


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(LogEntryAdmin):
    """Auditlog's list, with what each entry records and filters by who and by event."""

    list_display = ["created", "resource_url", "action", "what", "user_url"]
    list_filter = ["action", ActorFilter, EventFilter, "content_type", "timestamp"]

    @admin.display(description="what")
    def what(self, obj: LogEntry) -> str:
        return audit.audit_event(obj)


# --- The Customer admin: "Erase", and its exports and invitations in the audit trail -----------


def _selected_ids(request: HttpRequest, queryset: QuerySet[Customer]) -> list[int]:
    return list(queryset.values_list("pk", flat=True).order_by("pk"))


@admin.action(description="Erase (remove name, email and sign-in)", permissions=["delete"])
def erase_customers(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Customer]
) -> HttpResponse | None:
    customers = list(queryset.select_related("user").filter(erased_at__isnull=True))
    keep = request.POST.get("keep_lead_id") == "1"
    if "confirm" in request.POST:
        erased = erasure.customers_erase(customers=customers, keep_lead_id=keep, by=request.user)
        done = sum(1 for e in erased if e is not None)
        messages.success(
            request,
            f"Erased {done} customer(s): their sign-in, name and email are gone"
            + (", their FLG lead id kept to stop the webhook re-creating them." if keep else "."),
        )
        return None
    return TemplateResponse(
        request,
        "admin/privacy/erase_confirm.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase customers",
            "plans": [(c, erasure.erasure_plan(customer=c, keep_lead_id=keep)) for c in customers],
            "keep_lead_id": keep,
            "action": "erase_customers",
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "opts": Customer._meta,
        },
    )


@admin.action(
    description="Download their data (JSON), for a request to see it", permissions=["view"]
)
def download_customer_data(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Customer]
) -> HttpResponse:
    """What a customer downloads from Your data, for staff answering a request by email."""
    customers = list(queryset.select_related("user", "lead_group").filter(erased_at__isnull=True))
    data = {str(c.pk): export.customer_data_export(customer=c) for c in customers}
    for customer in customers:
        audit.audit_record(
            instance=customer,
            event=audit.DATA_DOWNLOADED,
            actor=request.user,
            details={"by": "staff"},
        )
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="customer-data.json"'
    response["Cache-Control"] = "private, no-store"
    return response


def _audited(base: type, name: str, event: str, done: Callable[[Any], bool]) -> Callable[..., Any]:
    """The Customer admin's action `name`, recording `event` once it has done its work."""

    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        ids = _selected_ids(request, queryset)
        response = getattr(base, name)(modeladmin, request, queryset)
        if done(response):
            details: dict[str, Any] = {"customers": len(ids), "customer ids": ids}
            if request.POST.get("appointment_type"):
                details["appointment type id"] = request.POST["appointment_type"]
            audit.audit_record_many(
                model=Customer, event=event, actor=request.user, details=details
            )
        return response

    original = getattr(base, name)
    action.__name__ = name
    action.short_description = original.short_description  # type: ignore[attr-defined]
    action.allowed_permissions = original.allowed_permissions  # type: ignore[attr-defined]
    return action


def _file(response: Any) -> bool:
    return isinstance(response, HttpResponseBase) and "attachment" in response.get(
        "Content-Disposition", ""
    )


class ErasedFilter(admin.SimpleListFilter):
    title = "erased"
    parameter_name = "erased"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Not erased"), ("yes", "Erased")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in {"yes", "no"}:
            return queryset.filter(erased_at__isnull=self.value() == "no")
        return queryset


def customer_admin_attach() -> None:
    """Add "Erase" to the Customer admin, and audit its exports and invitations."""
    customer_admin = admin.site.get_model_admin(Customer)
    base = type(customer_admin)
    wrapped = {
        "export_booking_links": _audited(
            base, "export_booking_links", audit.BOOKING_LINKS_EXPORTED, _file
        ),
        "send_invitations": _audited(
            base, "send_invitations", audit.INVITATIONS_SENT, lambda response: True
        ),
    }
    actions = [wrapped.get(a, a) if isinstance(a, str) else a for a in customer_admin.actions or []]
    customer_admin.actions = [*actions, download_customer_data, erase_customers]
    # One more filter on this instance: the stubs type list_filter as the class's alone.
    attached: Any = customer_admin
    attached.list_filter = [*customer_admin.list_filter, ErasedFilter]


customer_admin_attach()
