from __future__ import annotations

from typing import Any

from django import template

from appointments.dashboard import PERIODS, dashboard_figures
from appointments.models import AppointmentType

register = template.Library()


@register.inclusion_tag("admin/dashboard/dashboard.html", takes_context=True)
def portal_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    """The dashboard for the period and type in the query string (30 days, all types)."""
    request = context["request"]
    if not request.user.has_perm("appointments.view_appointmentsession"):
        return {"shown": False}
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    types = list(AppointmentType.objects.order_by("name"))
    chosen = next((t for t in types if str(t.pk) == request.GET.get("type", "")), None)
    figures = dashboard_figures(days=days, appointment_type=chosen)
    return {
        "shown": True,
        "figures": figures,
        "charts": figures.charts(),
        "periods": PERIODS,
        "types": types,
    }
