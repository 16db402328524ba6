"""Staff two-factor sign-in: a code from an authenticator app (TOTP) after the password.

django-otp keeps the devices: one TOTP device per staff member (the app) and one static
device holding their single-use recovery codes. Its middleware says which device, if any,
verified the session; `StaffTwoFactorMiddleware` sends staff who gave no code from the admin
to the code page (or, with no device yet, to enrolment). Wrong codes are throttled per device
by django-otp (OTP_TOTP_THROTTLE_FACTOR: each failure doubles the wait).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

logger = logging.getLogger("accounts.two_factor")

RECOVERY_CODES = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# Who may reset a colleague's two-factor: superusers, and staff given both of these.
RESET_PERMISSIONS = ("otp_totp.delete_totpdevice", "otp_static.delete_staticdevice")


@dataclass(frozen=True)
class Verification:
    """What checking a code gave: the device that accepted it, or how long to wait."""

    device: Device | None
    wait_seconds: int = 0
    recovery_codes_left: int | None = None


def is_staff(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_staff", False))


def is_verified(request: HttpRequest) -> bool:
    """Whether this session gave a code (django-otp's middleware decides)."""
    check: Callable[[], bool] | None = getattr(request.user, "is_verified", None)
    return bool(check and check())


def app_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    """The staff member's authenticator app, if enrolled (or, unconfirmed, being enrolled)."""
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def enrolment_device(*, user: User) -> TOTPDevice:
    """The not yet confirmed device whose key the enrolment page shows (the same on reload)."""
    device = app_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def secret_for_typing(device: TOTPDevice) -> str:
    """The key as authenticator apps take it typed in: base32, in groups of four."""
    from base64 import b32encode

    text = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as a QR code, an SVG data URI (CSP allows data: images)."""
    return str(
        segno.make(device.config_url, error="m").svg_data_uri(scale=4, border=2, light="white")
    )


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def wait_seconds(device: Device) -> int:
    allowed, info = device.verify_is_allowed()
    if allowed or not info or "locked_until" not in info:
        return 0
    return max(1, math.ceil((info["locked_until"] - timezone.now()).total_seconds()))


def code_verify(*, user: User, code: str) -> Verification:
    """Check a code from the app (six digits) or a recovery code (which it spends)."""
    code = _normalised(code)
    is_app_code = len(code) == 6 and code.isdigit()
    model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if is_app_code else StaticDevice
    with transaction.atomic():
        devices = model.objects.filter(user=user, confirmed=True).select_for_update()
        for device in devices:
            wait = wait_seconds(device)
            if wait:
                logger.info("Two-factor code not checked for user %s: throttled", user.pk)
                return Verification(device=None, wait_seconds=wait)
            if device.verify_token(code):
                left = device.token_set.count() if isinstance(device, StaticDevice) else None
                logger.info("Two-factor code accepted for user %s", user.pk)
                return Verification(device=device, recovery_codes_left=left)
    logger.info("Two-factor code refused for user %s", user.pk)
    return Verification(device=None)


def enrolment_confirm(*, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm a new app with its first code; its fresh recovery codes, or None if wrong."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed or not device.verify_token(_normalised(code)):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # Any other app left from an earlier enrolment goes: one device per person.
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        codes = recovery_codes_renew(user=device.user)
    logger.info("Two-factor enrolled for user %s", device.user_id)
    return codes


def recovery_codes_renew(*, user: User) -> list[str]:
    """New single-use recovery codes for this staff member; every older one stops working."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    logger.info("Two-factor recovery codes renewed for user %s", user.pk)
    return codes


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def may_reset(user: Any) -> bool:
    """Whether this person may reset a colleague's two-factor."""
    return is_staff(user) and all(user.has_perm(p) for p in RESET_PERMISSIONS)


def two_factor_reset(*, user: User, by: AbstractBaseUser | AnonymousUser | None) -> int:
    """Delete the staff member's app and recovery codes, so they enrol again at next sign-in.

    Sessions that gave a code with them stop counting as verified at once. `by` is the
    colleague who asked (None: the operator's management command). How many devices went.
    """
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += StaticDevice.objects.filter(user=user).delete()[0]
    logger.warning(
        "Two-factor reset for user %s by %s",
        user.pk,
        f"user {by.pk}" if by is not None else "the reset_two_factor command",
    )
    return removed


def code_page_url(request: HttpRequest) -> str:
    """The code page, with the admin address to return to afterwards."""
    target = request.get_full_path() if request.method == "GET" else reverse("admin:index")
    return reverse("two_factor_verify") + "?" + urlencode({"next": target})


# The admin's address and its sign-out's, by script prefix and URLconf: every request asks.
_admin_addresses: dict[tuple[str, Any], tuple[str, str]] = {}


@receiver(setting_changed)
def _forget_admin_addresses(**kwargs: Any) -> None:
    _admin_addresses.clear()  # a test's ROOT_URLCONF


def _admin_paths() -> tuple[str, str]:
    key = (get_script_prefix(), get_urlconf())
    paths = _admin_addresses.get(key)
    if paths is None:
        paths = _admin_addresses[key] = (reverse("admin:index"), reverse("admin:logout"))
    return paths


class StaffTwoFactorMiddleware:
    """The admin only for staff whose session gave a second factor (STAFF_TWO_FACTOR).

    After django-otp's middleware. Signing out stays open; everything else under the admin
    sends a staff member who gave only a password to the code page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        admin, logout = _admin_paths()
        if (
            settings.STAFF_TWO_FACTOR
            and request.path.startswith(admin)
            and request.path != logout
            and is_staff(request.user)
            and not is_verified(request)
        ):
            return HttpResponseRedirect(code_page_url(request))
        return self.get_response(request)
