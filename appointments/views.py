from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from appointments import services


@login_required
def home(request: HttpRequest) -> HttpResponse:
    customer = services.customer_for_user(user=request.user)
    if customer is None:
        return render(request, "appointments/not_linked.html")
    types = services.appointment_types_for_customer(customer=customer)
    return render(request, "appointments/home.html", {"customer": customer, "types": types})
