"""A staff member's two-factor pages, in the admin's look: the code, enrolment, recovery codes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlencode

import django_otp
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.models import Device

from accounts import two_factor
from accounts.views import safe_next

View = Callable[..., HttpResponse]

WRONG_CODE = (
    "That code is not right. Type the six digits your authenticator app shows now, "
    "or one of your recovery codes."
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The six digits from your authenticator app, or a recovery code.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


def staff_only(view: View) -> View:
    """Staff who gave their password; anyone else goes to the admin's sign-in."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not two_factor.is_staff(request.user):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return wrapper


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (staff_only let them in)."""
    return cast(User, request.user)


def _next(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next")
    return safe_next(request, wanted) or reverse("admin:index")


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + "?" + urlencode({"next": next_url})


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, signed_in: bool = False
) -> HttpResponse:
    page = {**admin.site.each_context(request), "next": _next(request), **context}
    if not signed_in:
        # Before the code, the header offers nothing of the admin (only signing out, below).
        page.update(has_permission=False, available_apps=[])
    return render(request, template, page)


def _sign_in(request: HttpRequest, device: Device) -> None:
    """The session now counts as verified; a new session key for the raised rights."""
    django_otp.login(request, device)
    request.session.cycle_key()


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def verify(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    if two_factor.app_device(_staff(request)) is None:
        return HttpResponseRedirect(_with_next("two_factor_enrol", next_url))
    if two_factor.is_verified(request):
        return HttpResponseRedirect(next_url)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        result = two_factor.code_verify(user=_staff(request), code=form.cleaned_data["code"])
        if result.device is not None:
            _sign_in(request, result.device)
            if result.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You signed in with a recovery code, which now no longer works; "
                    f"{result.recovery_codes_left} left. Make new ones under “Recovery codes”.",
                )
            return HttpResponseRedirect(next_url)
        if result.wait_seconds:
            form.add_error(
                "code",
                f"Too many wrong codes: wait {result.wait_seconds} seconds, then try again.",
            )
        else:
            form.add_error("code", WRONG_CODE)
    context = {"form": form, "title": "Two-factor code"}
    return _render(request, "accounts/two_factor/verify.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def enrol(request: HttpRequest) -> HttpResponse:
    next_url = _next(request)
    if two_factor.app_device(_staff(request)) is not None:
        # Enrolled already: a new app needs a colleague's reset first.
        return HttpResponseRedirect(_with_next("two_factor_verify", next_url))
    device = two_factor.enrolment_device(user=_staff(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        codes = two_factor.enrolment_confirm(device=device, code=form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            _sign_in(request, device)
            return _recovery_codes_page(request, codes, enrolled=True)
        wait = two_factor.wait_seconds(device)
        form.add_error(
            "code",
            f"Too many wrong codes: wait {wait} seconds, then try again."
            if wait
            else "That code is not right. Type the six digits the app shows now for this "
            "account (a new code comes every 30 seconds).",
        )
    context = {
        "form": form,
        "title": "Set up two-factor sign-in",
        "qr_code": two_factor.qr_code_data_uri(device),
        "secret": two_factor.secret_for_typing(device),
    }
    return _render(request, "accounts/two_factor/enrol.html", context)


def _recovery_codes_page(request: HttpRequest, codes: list[str], *, enrolled: bool) -> HttpResponse:
    context = {"codes": codes, "enrolled": enrolled, "title": "Your recovery codes"}
    return _render(request, "accounts/two_factor/recovery_codes.html", context, signed_in=True)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def recovery_codes(request: HttpRequest) -> HttpResponse:
    if not two_factor.is_verified(request):
        return HttpResponseRedirect(two_factor.code_page_url(request))
    if request.method == "POST":
        codes = two_factor.recovery_codes_renew(user=_staff(request))
        return _recovery_codes_page(request, codes, enrolled=False)
    context = {
        "title": "Recovery codes",
        "left": two_factor.recovery_codes_left(user=_staff(request)),
    }
    template = "accounts/two_factor/recovery_codes_renew.html"
    return _render(request, template, context, signed_in=True)
