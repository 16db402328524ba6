"""The account rules, in one place: an email is the sign-in name, whatever its letter case.

A user's username is their lower-cased email; a user created for a customer has no usable
password until they choose one (from an invitation or a reset).
"""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Max, QuerySet
from django.utils import timezone


def users_with_email(email: str) -> QuerySet[User]:
    """Every account using this email address, in any letter case (at most one, by index)."""
    return User._default_manager.filter(email__iexact=email.strip())


def user_for_email(email: str, *, active_only: bool = False) -> User | None:
    """The account that signs in with this email address, if there is one."""
    users = users_with_email(email)
    if active_only:
        users = users.filter(is_active=True)
    return users.order_by("pk").first()


def email_taken(email: str, *, exclude_user_id: int | None = None) -> bool:
    """True when another account already uses this email as its address or its sign-in name."""
    email = email.strip()
    users = users_with_email(email) | User._default_manager.filter(username=email.lower())
    if exclude_user_id is not None:
        users = users.exclude(pk=exclude_user_id)
    return users.exists()


def user_set_email(*, user: User, email: str) -> None:
    """Give the user this address, and the sign-in name that goes with it (not saved)."""
    user.email = email.strip()
    user.username = user.email.lower()


def user_create(
    *, email: str, first_name: str = "", last_name: str = "", password: str | None = None
) -> User:
    """A new account signing in with `email`; without a password it has no usable one."""
    user = User(first_name=first_name, last_name=last_name)
    user_set_email(user=user, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


# --- Sign-in lockout (django-axes counts failures per email and address) ---------------------


def lockout_ends_at(*, username: str, ip_address: str | None) -> dt.datetime:
    """When the lockout of this email from this address ends: the cool-off after the failure
    that caused it (attempts during a lockout are not counted, so they do not move it)."""
    attempts = AccessAttempt.objects.filter(username=username)
    if ip_address:
        attempts = attempts.filter(ip_address=ip_address)
    last = attempts.aggregate(last=Max("attempt_time"))["last"] or timezone.now()
    return last + settings.AXES_COOLOFF_TIME


def lockout_lift(*, user: User) -> int:
    """Forget the failed sign-ins for this account's email, from every address; how many.

    For when the owner has proved they hold the address (a password chosen through the
    emailed link) and for the demo accounts.
    """
    names = {user.get_username().strip().lower()}
    if user.email:
        names.add(user.email.strip().lower())
    return sum(axes_reset(username=name) for name in names)


def failures_before_lockout(*, failures: int) -> int:
    """How many more wrong passwords pause sign-in, after `failures` in a row."""
    return max(0, settings.AXES_FAILURE_LIMIT - failures)
