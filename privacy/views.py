"""The privacy notice, and the customer's own "Your data" page: download it, delete the account."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import links
from accounts.views import not_linked
from appointments import offered
from appointments.models import Customer
from privacy import audit, emails, erasure, export
from privacy.models import Erasure

LINK_SENT = (
    "We have emailed you a link to confirm. It works for a short time; open it on any device."
)
WRONG_PASSWORD = "That is not your password. Try again, or ask for a link by email instead."  # noqa: S105 (a message)


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def privacy_notice(request: HttpRequest) -> HttpResponse:
    # The text staff edit lives in the portal's settings: a context processor gives it as
    # `privacy_notice`; until one does, the template's shipped default is shown.
    retention = {
        "access": settings.RETENTION_ACCESS_DAYS,
        "failures": settings.RETENTION_FAILURE_DAYS,
        "sessions": settings.RETENTION_SESSION_DAYS,
        "customer_years": round(settings.RETENTION_CUSTOMER_DAYS / 365, 1),
    }
    return render(request, "privacy/notice.html", {"retention": retention})


def _customer_view(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Signed in fully (not from a booking link) and a customer, or the usual answers."""

    @login_required
    @links.full_sign_in_required
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        customer = offered.customer_for_user(user=request.user)
        if customer is None or customer.erased_at is not None:
            return not_linked(request)
        return view(request, customer, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def _your_data_page(request: HttpRequest, customer: Customer, form: Any = None) -> HttpResponse:
    return render(
        request,
        "privacy/your_data.html",
        {
            "customer": customer,
            "parts": [(export.TITLES[key], text) for key, text in export.ABOUT.items()],
            "has_password": customer.user.has_usable_password(),
            "form": form or PasswordConfirmForm(),
        },
    )


@_customer_view
def your_data(request: HttpRequest, customer: Customer) -> HttpResponse:
    return _your_data_page(request, customer)


@require_POST
@_customer_view
def data_download(request: HttpRequest, customer: Customer) -> HttpResponse:
    data = export.customer_data_export(customer=customer)
    audit.audit_record(instance=customer, event=audit.DATA_DOWNLOADED, actor=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    name = f"my-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _deleted(request: HttpRequest, user_pk: int) -> HttpResponse:
    if request.user.pk == user_pk:
        logout(request)
    return HttpResponseRedirect(reverse("privacy_deleted"))


@require_POST
@_customer_view
def delete_with_password(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        # Through authenticate, so django-axes counts a wrong password as at the sign-in page.
        user = authenticate(
            request, username=request.user.get_username(), password=form.cleaned_data["password"]
        )
        if user is not None and user.pk == request.user.pk:
            erasure.customer_erase(
                customer=customer, keep_lead_id=False, by=None, reason=Erasure.Reason.CUSTOMER
            )
            return _deleted(request, user.pk)
        form.add_error("password", WRONG_PASSWORD)
    return _your_data_page(request, customer, form)


@require_POST
@_customer_view
def delete_link_request(request: HttpRequest, customer: Customer) -> HttpResponse:
    emails.delete_link_send(user=request.user)
    messages.success(request, LINK_SENT)
    return HttpResponseRedirect(reverse("privacy_your_data"))


# The confirmation link being opened, moved out of the address into the session (as a sign-in
# link): the page with the button holds no token, so neither a log line nor a Referer can.
LINK_IN_SESSION = "privacy.delete_link"


@never_cache
@require_GET
def delete_link(request: HttpRequest, token: str) -> HttpResponse:
    request.session[LINK_IN_SESSION] = token
    return HttpResponseRedirect(reverse("privacy_delete_confirm"))


@never_cache
@require_http_methods(["GET", "POST"])
def delete_confirm(request: HttpRequest) -> HttpResponse:
    """Scanner-safe: the link's page shows a button; only the button's POST deletes."""
    user = emails.delete_link_user(token=request.session.get(LINK_IN_SESSION, ""))
    customer = Customer.objects.filter(user=user, erased_at__isnull=True).first() if user else None
    if customer is None:
        return render(request, "privacy/delete_link_spent.html", status=410)
    if request.method == "POST":
        request.session.pop(LINK_IN_SESSION, None)
        erasure.customer_erase(
            customer=customer, keep_lead_id=False, by=None, reason=Erasure.Reason.CUSTOMER
        )
        return _deleted(request, customer.user_id)
    return render(request, "privacy/delete_confirm.html", {"customer": customer})


def deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/deleted.html")
