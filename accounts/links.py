"""Links that sign a person in: one-time sign-in links, and the tokens of booking links.

Tokens are django-sesame's (a signed user id and creation time, no crypto of our own). Ours
adds, in clear but covered by the signature, an expiry and a few numbers the caller checks
against the database: `<numbers>.<expiry>.<sesame token>`, each number in base 36. Changing
the account's password or email spends every token (sesame's revocation key).

A sign-in link carries the count of links the account has been sent (SignInLinks): sending a
new one or using this one moves the count on, so a link works once and only the newest works.

Links never sign in staff: an email account broken into must not open the admin.

A session begun from a booking link may book but not change the password or email; the mark
is kept in the Django session until the person signs in properly (`sign_in_complete`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from sesame import tokens

from accounts import services
from accounts.models import SignInLinks
from business import events
from outbox import services as outbox

logger = logging.getLogger("accounts.links")

SIGN_IN = "sign-in"
EMAIL_KIND = "sign_in_link"
BACKEND = "accounts.backends.EmailBackend"
BOOKING_ONLY = "accounts.booking_only"
BOOKING_REVISION = "accounts.booking_revision"
BOOKING_LINK_REVOKED_MESSAGE = (
    "The booking link you came in with has been withdrawn, so you have been signed out. "
    "Please sign in, or ask us for a new link."
)
SIGNED_IN_MESSAGE = "You are already signed in as {email}: no need for a link."
OTHER_ACCOUNT_MESSAGE = (
    "That link was for another account and no longer works. You are still signed in as "
    "{email}; to use another account, sign out first."
)
FULL_SIGN_IN_MESSAGE = (
    "For your security, please sign in with your password or a sign-in link before "
    "changing your account."
)


# Numbers in base 36 (lower case, no sign, no leading zero: one spelling per token), then
# sesame's URL-safe Base64.
_TOKEN = re.compile(r"^(?:(?:0|[1-9a-z][0-9a-z]{0,12})\.)+[A-Za-z0-9_-]{4,200}\Z")


@dataclass(frozen=True)
class LinkToken:
    user: User
    numbers: tuple[int, ...]
    expires: dt.datetime


# --- Tokens ----------------------------------------------------------------------------------


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _scope(purpose: str, numbers: Sequence[int], expires: int) -> str:
    return ":".join([purpose, *map(str, numbers), str(expires)])


def _link_user(pk: Any) -> User | None:
    user = get_user_model()._default_manager.filter(pk=pk).first()
    if user is None or not user.is_active or user.is_staff or user.is_superuser:
        return None
    return user


def token_create(
    *, user: User, purpose: str, expires: dt.datetime, numbers: Sequence[int] = ()
) -> str:
    """A token for `user` that works for `purpose` until `expires`, carrying `numbers`."""
    if any(n < 0 for n in numbers):
        raise ValueError("A link token carries only numbers of zero or more.")
    until = int(expires.timestamp())
    signed = tokens.create_token(user, _scope(purpose, numbers, until))
    return ".".join([*map(_base36, numbers), _base36(until), signed])


def _token_parse(token: str, purpose: str) -> LinkToken | None:
    if not _TOKEN.match(token):
        return None
    *parts, signed = token.split(".")
    *numbers, until = [int(part, 36) for part in parts]
    user = tokens.parse_token(signed, _link_user, _scope(purpose, numbers, until))
    if user is None:
        return None
    return LinkToken(
        user=user, numbers=tuple(numbers), expires=dt.datetime.fromtimestamp(until, dt.UTC)
    )


def token_read(*, token: str, purpose: str) -> LinkToken | None:
    """The account, numbers and expiry of a token for `purpose`; None if altered or expired."""
    found = _token_parse(token, purpose)
    if found is None or found.expires <= timezone.now():
        return None
    return found


def token_owner(*, token: str, purpose: str) -> User | None:
    """The account a token for `purpose` was made for, expired or spent; None if altered, or
    if the account's password or email has changed since (sesame's revocation)."""
    found = _token_parse(token, purpose)
    return found.user if found is not None else None


# --- Sign-in links ---------------------------------------------------------------------------


def sign_in_link_url(
    *, user: User, base_url: str, valid_for: dt.timedelta | None = None, next_url: str = ""
) -> str:
    """A new sign-in link for this account (spending any older one), under `base_url`."""
    if valid_for is None:
        valid_for = dt.timedelta(minutes=settings.SIGN_IN_LINK_MINUTES)
    with transaction.atomic():
        SignInLinks.objects.get_or_create(user=user)
        SignInLinks.objects.filter(user=user).update(issued=F("issued") + 1)
        issued = SignInLinks.objects.get(user=user).issued
    token = token_create(
        user=user, purpose=SIGN_IN, expires=timezone.now() + valid_for, numbers=[issued]
    )
    url = base_url.rstrip("/") + reverse("sign_in_link", kwargs={"token": token})
    if next_url:
        url += "?" + urlencode({"next": next_url}, safe="/")
    return url


def _sign_in_token(token: str) -> LinkToken | None:
    found = token_read(token=token, purpose=SIGN_IN)
    if found is None or len(found.numbers) != 1:
        return None
    current = SignInLinks.objects.filter(user=found.user).values_list("issued", flat=True).first()
    return found if current == found.numbers[0] else None


def sign_in_link_user(*, token: str) -> User | None:
    """The account a sign-in link is for, if it still works; it stays unspent."""
    found = _sign_in_token(token)
    return found.user if found is not None else None


def sign_in_link_owner(*, token: str) -> User | None:
    """The account a sign-in link was made for, even once it no longer works."""
    return token_owner(token=token, purpose=SIGN_IN)


def sign_in_link_use(*, token: str) -> User | None:
    """The account a sign-in link is for, spending it; None if it does not work (any more)."""
    found = _sign_in_token(token)
    if found is None:
        return None
    # Only one of two simultaneous uses moves the count on from the link's number.
    spent = SignInLinks.objects.filter(user=found.user, issued=found.numbers[0]).update(
        issued=F("issued") + 1
    )
    return found.user if spent else None


def sign_in_link_make(
    *, user: User, base_url: str, valid_for: dt.timedelta | None = None, next_url: str = ""
) -> tuple[str, Callable[[], None]]:
    """A sign-in link that works once `spend_older()` is called, which spends every older one.

    For an email: the link carries the next number, so until the email has gone out (and
    `spend_older` is called) the customer's previous link keeps working.
    """
    if valid_for is None:
        valid_for = dt.timedelta(minutes=settings.SIGN_IN_LINK_MINUTES)
    issued = SignInLinks.objects.filter(user=user).values_list("issued", flat=True).first()
    if issued is None:
        issued = SignInLinks.objects.get_or_create(user=user)[0].issued
    token = token_create(
        user=user, purpose=SIGN_IN, expires=timezone.now() + valid_for, numbers=[issued + 1]
    )
    url = base_url.rstrip("/") + reverse("sign_in_link", kwargs={"token": token})
    if next_url:
        url += "?" + urlencode({"next": next_url}, safe="/")

    def spend_older() -> None:
        # Only from the number the link was made after: if the older link was used meanwhile,
        # the count is already on this link's number.
        SignInLinks.objects.filter(user=user, issued=issued).update(issued=issued + 1)

    return url, spend_older


def sign_in_link_customer(*, user_id: Any) -> User | None:
    """The customer a sign-in link may be sent to: active, not staff, with a customer record."""
    return (
        get_user_model()
        ._default_manager.filter(
            pk=user_id, is_active=True, is_staff=False, is_superuser=False, customer__isnull=False
        )
        .first()
    )


def sign_in_link_send(*, email: str, next_url: str = "") -> None:
    """Queue a sign-in link for the customer with this address, if there is one.

    Says nothing either way, and queues the same for an unknown address, so neither the page
    nor its timing tells who is a customer. The worker makes the link (accounts.emails).
    """
    # Customers only (the reverse side of Customer.user); staff sign in with a password.
    user = (
        services.users_with_email(email)
        .filter(is_active=True, is_staff=False, is_superuser=False, customer__isnull=False)
        .first()
    )
    if user is None:
        outbox.email_queue_none()
        return
    outbox.email_queue(
        kind=EMAIL_KIND,
        user_id=user.pk,
        email=user.email,
        params={"next": next_url} if next_url else {},
        priority=outbox.URGENT,
    )


def masked_email(email: str) -> str:
    """j•••@example.com: enough to recognise one's own address, not to read someone else's."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}\u2022\u2022\u2022@{domain}"


# --- Sessions --------------------------------------------------------------------------------


def sign_in_complete(request: HttpRequest, user: User) -> None:
    """Sign in fully (password, sign-in link, invitation): the account may be changed."""
    events.first_sign_in_record(user=user)
    login(request, user, backend=BACKEND)
    request.session.pop(BOOKING_ONLY, None)
    request.session.pop(BOOKING_REVISION, None)


def sign_in_for_booking(request: HttpRequest, user: User, *, revision: int) -> None:
    """Sign in from a booking link: booking only, unless this person is already signed in.

    `revision` is the revision of the customer's booking links the link carried: revoking
    them moves it on, and `booking_session_revoked` then ends this session too.
    """
    if request.user.is_authenticated and request.user.pk == user.pk:
        if session_is_booking_only(request):
            request.session[BOOKING_REVISION] = revision
        return
    events.first_sign_in_record(user=user)
    login(request, user, backend=BACKEND)
    request.session[BOOKING_ONLY] = True
    request.session[BOOKING_REVISION] = revision


def session_is_booking_only(request: HttpRequest) -> bool:
    return bool(request.session.get(BOOKING_ONLY))


def booking_session_revoked(request: HttpRequest, *, revision: int) -> bool:
    """True for a session begun from a booking link older than the customer's `revision`.

    A session from before the revision was recorded counts as revoked: signing in again is
    a small price, and a leaked link's browser must not stay in.
    """
    if not session_is_booking_only(request):
        return False
    begun = request.session.get(BOOKING_REVISION)
    return not isinstance(begun, int) or begun < revision


def booking_session_end(request: HttpRequest) -> None:
    """Sign out a session whose booking link was revoked, saying so on the sign-in page."""
    logout(request)
    messages.info(request, BOOKING_LINK_REVOKED_MESSAGE)


def link_onward_signed_in(
    request: HttpRequest, *, owner: User | None, next_url: str = ""
) -> HttpResponseRedirect | None:
    """For a signed-in customer opening a link they do not need (it no longer works, or it is
    their own and they are signed in already): home with a note (on to `next_url` when the
    link was theirs), instead of a page saying it is dead and a form.

    `owner` is whom the link was made for (None when unknown: altered, or spent by a new
    password). Staff and people not signed in get None: the caller's own page.
    """
    user = request.user
    if not user.is_authenticated or services.user_is_staff(user):
        return None
    home = resolve_url(settings.LOGIN_REDIRECT_URL)
    if owner is not None and owner.pk != user.pk:
        messages.info(request, OTHER_ACCOUNT_MESSAGE.format(email=user.email))
        return HttpResponseRedirect(home)
    messages.info(request, SIGNED_IN_MESSAGE.format(email=user.email))
    return HttpResponseRedirect(next_url if next_url and owner is not None else home)


def full_sign_in_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Refuse a session begun from a booking link: sign in properly first, then come back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and session_is_booking_only(request):
            messages.info(request, FULL_SIGN_IN_MESSAGE)
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
