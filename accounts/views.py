from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django.views.generic import FormView

from accounts import invites, limits, links, metrics, services
from accounts.backends import axes_username
from accounts.forms import (
    AccountPasswordResetForm,
    EmailLoginForm,
    InviteRequestForm,
    SignInLinkForm,
)
from business import events


def not_linked(request: HttpRequest) -> HttpResponse:
    """A signed-in account that no customer record points at: nothing to book yet."""
    return render(request, "accounts/not_linked.html")


def lockout(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """Too many wrong passwords (services.lockout_find's rules): say when to try again.

    Attempts during the lockout do not extend it, so the time shown is when it really ends.
    """
    metrics.lockouts.inc()
    found = services.lockout_find(
        username=axes_username(request, credentials),
        ip_address=getattr(request, "axes_ip_address", None),
    )
    ends_at = found.ends_at if found else timezone.now() + settings.AXES_COOLOFF_TIME
    page = render(
        request,
        "registration/lockout.html",
        {
            "minutes": settings.AXES_COOLOFF_MINUTES,
            "retry_at": timezone.localtime(ends_at),
            "whole_address": found is not None and found.rule == services.ADDRESS,
            "every_address": found is not None and found.rule == services.ACCOUNT,
        },
        status=429,
    )
    wait = (ends_at - timezone.now()).total_seconds()
    page["Retry-After"] = str(max(1, math.ceil(wait)))
    return page


def safe_next(request: HttpRequest, url: str | None) -> str:
    """`url` if it is a page of this site to return to after signing in, else ""."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


class SignInView(auth_views.LoginView):
    """Sign in with a password; it also lifts a booking link's limits for the session."""

    authentication_form = EmailLoginForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Someone signed in from a booking link is sent here to sign in properly: show the form.
        self.redirect_authenticated_user = not links.session_is_booking_only(request)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        links.sign_in_complete(self.request, form.get_user())
        return HttpResponseRedirect(self.get_success_url())


# The address the last "email me" form here was sent for, for the page that follows.
SENT_TO = "accounts.sent_to"


def _sent_page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    # Read once: the address is not kept in the session after the page that names it.
    return render(request, template, {"sent_to": request.session.pop(SENT_TO, ""), **context})


class EmailLimitMixin:
    """For a form that emails an address anyone can type: within accounts.limits, or nothing.

    The answer is the same page either way, so nobody learns whether an email went out.
    """

    request: HttpRequest
    get_success_url: Callable[[], str]

    def send(self, form: Any) -> None:
        raise NotImplementedError

    def refused(self) -> None:
        """A limit held the email back (for the metrics)."""

    def form_valid(self, form: Any) -> HttpResponse:
        # The page that follows names the address as typed (nothing more: it must not tell
        # whether an account has it), so a typo shows before the customer waits for nothing.
        self.request.session[SENT_TO] = form.cleaned_data["email"]
        if limits.email_allowed(
            email=form.cleaned_data["email"], client_ip=get_client_ip_address(self.request)
        ):
            self.send(form)
        else:
            self.refused()
        return HttpResponseRedirect(self.get_success_url())


class SignOutView(auth_views.LogoutView):
    """Django's sign-out (a POST), which also says it worked on the page that follows."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, "You have signed out.")
        return response


class PasswordResetView(EmailLimitMixin, auth_views.PasswordResetView):
    """Django's reset request, whose email names the portal and links to PORTAL_URL (not the
    host and port the request happened to arrive on)."""

    form_class = AccountPasswordResetForm

    def send(self, form: AccountPasswordResetForm) -> None:
        # Django's own form_valid calls the form's save(), which queues the email (the worker
        # makes it with PORTAL_URL and the portal's name); its redirect is ours to give.
        auth_views.PasswordResetView.form_valid(self, form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a new password through the emailed link also lifts a sign-in lockout: the
    link proves the person owns the address, which is what the lockout was unsure of.

    Never for a staff account: no emailed link opens the admin (the public form does not mail
    staff, and a link mailed before it did says it has expired). It never signs in by itself
    (Django's post_reset_login stays False).
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)
        if not self.validlink:
            # Spent (say, the password was chosen in another tab): someone signed in needs no
            # "expired" page, just to carry on.
            onward = links.link_onward_signed_in(request, owner=getattr(self, "user", None))
            if onward is not None:
                return onward
        return response

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        return None if user is not None and services.user_is_staff(user) else user

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        services.lockout_lift(user=form.user)
        limits.email_limit_reset(email=form.user.email)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = getattr(self, "user", None)
        context["account_email"] = user.email if user is not None else ""
        return context


class InviteAcceptView(PasswordResetConfirmView):
    """An invited customer chooses a password and is signed in straight away: an invitation's
    own token only (a reset token is refused here), never a staff account."""

    template_name = "registration/invite_confirm.html"
    token_generator = invites.invite_token_generator
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.EmailBackend"
    success_url = reverse_lazy("home")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        # Django signs the customer in itself here, not through links.sign_in_complete.
        events.first_sign_in_record(user=form.user)
        return super().form_valid(form)


class InviteRenewView(EmailLimitMixin, FormView):
    """A customer whose invitation expired asks for a new one (the reset form skips them)."""

    template_name = "registration/invite_renew.html"
    form_class = InviteRequestForm
    success_url = reverse_lazy("invite_renew_done")

    def send(self, form: InviteRequestForm) -> None:
        invites.invite_renew(email=form.cleaned_data["email"])


class SignInLinkRequestView(EmailLimitMixin, FormView):
    """ "Email me a sign-in link": the same answer whether or not the address is known."""

    template_name = "registration/sign_in_link_request.html"
    form_class = SignInLinkForm
    success_url = reverse_lazy("sign_in_link_sent")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        next_url = self.request.POST.get("next") or self.request.GET.get("next")
        return {**super().get_context_data(**kwargs), "next": safe_next(self.request, next_url)}

    def refused(self) -> None:
        metrics.sign_in_link_emails.labels("refused").inc()

    def send(self, form: Form) -> None:
        links.sign_in_link_send(
            email=form.cleaned_data["email"],
            next_url=safe_next(self.request, self.request.POST.get("next")),
        )


@require_GET
def sign_in_link_sent(request: HttpRequest) -> HttpResponse:
    return _sent_page(
        request, "registration/sign_in_link_sent.html", minutes=settings.SIGN_IN_LINK_MINUTES
    )


@require_GET
def password_reset_done(request: HttpRequest) -> HttpResponse:
    return _sent_page(request, "registration/password_reset_done.html")


@require_GET
def invite_renew_done(request: HttpRequest) -> HttpResponse:
    return _sent_page(
        request,
        "registration/invite_renew_done.html",
        days=settings.PASSWORD_RESET_TIMEOUT // 86400,
    )


def link_spent(request: HttpRequest) -> HttpResponse:
    """A sign-in link that is spent, expired or altered: say so, and offer a new one."""
    return render(
        request,
        "registration/sign_in_link_spent.html",
        {"form": SignInLinkForm(), "next": ""},
        status=410,
    )


def _link_spent_or_onward(request: HttpRequest, token: str, next_url: str) -> HttpResponse:
    """Onward for someone signed in (accounts.links.link_onward_signed_in), else the page that
    offers a new link."""
    owner = links.sign_in_link_owner(token=token)
    onward = links.link_onward_signed_in(request, owner=owner, next_url=next_url)
    if onward is not None:
        request.session.pop(LINK_IN_SESSION, None)
        return onward
    return link_spent(request)


# The sign-in link being opened, moved out of the address into the session: its page's
# address then holds no token, so neither a log line nor a Referer can.
LINK_IN_SESSION = "accounts.sign_in_link"


@never_cache
@require_GET
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """Opening a sign-in link: the token goes into the session, and the browser to its page.

    The redirect is the only answer with the token in its address, and it renders nothing
    that could fetch a stylesheet or script with the token as the Referer.
    """
    request.session[LINK_IN_SESSION] = {
        "token": token,
        "next": safe_next(request, request.GET.get("next")),
    }
    return HttpResponseRedirect(resolve_url("sign_in_link_continue"))


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_link_continue(request: HttpRequest) -> HttpResponse:
    """The link's page: one button (mail scanners open every link, so GET changes nothing);
    its POST spends the link and signs in."""
    opened = request.session.get(LINK_IN_SESSION) or {}
    if request.method == "GET":
        user = links.sign_in_link_user(token=opened.get("token", ""))
        if user is None:
            return _link_spent_or_onward(request, opened.get("token", ""), opened.get("next", ""))
        signed_in = request.user if request.user.is_authenticated else None
        if signed_in == user and not links.session_is_booking_only(request):
            # Their own link, and already signed in fully: nothing to press. It stays unspent
            # (only the newest works, and it soon expires).
            return _link_spent_or_onward(request, opened.get("token", ""), opened.get("next", ""))
        context = {
            "who": links.masked_email(user.email),
            "next": opened.get("next", ""),
            # Someone else is signed in here: the page says whom the button signs out.
            "instead_of": signed_in.email if signed_in and signed_in != user else "",
        }
        return render(request, "registration/sign_in_link_continue.html", context)
    request.session.pop(LINK_IN_SESSION, None)
    # A page rendered before the token moved to the session still posts it in the body.
    token = opened.get("token") or request.POST.get("token", "")
    user = links.sign_in_link_use(token=token)
    if user is None:
        return _link_spent_or_onward(request, token, safe_next(request, request.POST.get("next")))
    links.sign_in_complete(request, user)
    limits.email_limit_reset(email=user.email)
    next_url = safe_next(request, request.POST.get("next"))
    return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


password_change = links.full_sign_in_required(auth_views.PasswordChangeView.as_view())
