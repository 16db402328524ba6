"""Two pages that stop short of home: a signed-in customer and nothing else, and home's reads
without its render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from appointments.models import Customer
from appointments.views.common import customer_required
from appointments.views.pages import home_context


@require_GET
@customer_required
def signed_in(request: HttpRequest, customer: Customer) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_GET
@customer_required
def home_unrendered(request: HttpRequest, customer: Customer) -> HttpResponse:
    context = home_context(customer)
    shown = len(context["types"]) + len(context["upcoming"]) + len(context["past"])
    return HttpResponse(str(shown), content_type="text/plain")
