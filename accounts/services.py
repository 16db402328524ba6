"""The account rules, in one place: an email is the sign-in name, whatever its letter case.

A user's username is their normalised email (`email_normalise`); a user created for a customer
has no usable password until they choose one (from an invitation or a reset).

An address is compared in one form everywhere, for sign-in, lookups, storage of the sign-in
name and the lockout key: stripped, Unicode NFC (so a letter typed with a combining accent is
the same text as the accented letter), and A-Z lower-cased, with nothing else folded. Python's
lower() and casefold(), PostgreSQL's UPPER() and LOWER() under a UTF-8 locale, and NFKC all fold
some non-ASCII letters into ASCII ones (the long s U+017F into s, the dotless i into I, fullwidth
letters into plain ones, the Kelvin sign into k); folding none of them makes a look-alike simply
an unknown address.
"""

from __future__ import annotations

import datetime as dt
import string
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt, AccessLog
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BooleanField, CharField, Expression, F, Func, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, In
from django.utils import timezone

from accounts import bulk

# Lookups of many addresses at once go in chunks, well under SQLite's limit on parameters
# (32,766 since SQLite 3.32).
CHUNK = 5000
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def email_normalise(email: str) -> str:
    """The form of an address that sign-in, lookups and the lockout compare (see the top)."""
    return email_stored(email).translate(_ASCII_LOWER)


def email_stored(email: str) -> str:
    """An address as an account keeps it, for display and mail: stripped, NFC, case kept."""
    email = email.strip()
    if email.isascii():
        return email  # NFC leaves ASCII as it is
    # NFC itself turns a few single characters into ASCII ones (the Kelvin sign into K):
    # an address holding one is kept exactly as written, so it stays another address.
    if any(not c.isascii() and unicodedata.normalize("NFC", c).isascii() for c in email):
        return email
    return unicodedata.normalize("NFC", email)


class _AsciiLower(Func):
    """LOWER() that folds A-Z only, as email_normalise does.

    SQLite's LOWER() already folds ASCII only; PostgreSQL's follows the database's locale
    (C.UTF-8 folds the Kelvin sign into k) unless the value is read in the C collation.
    """

    function = "LOWER"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template='%(function)s((%(expressions)s) COLLATE "C")', **extra
        )


class _EqualsAny(Expression):
    """`lhs = ANY(%s)`: a list as one PostgreSQL array parameter."""

    def __init__(self, lhs: Any, values: list[str]) -> None:
        super().__init__(output_field=BooleanField())
        self.lhs, self.values = lhs, values

    def get_source_expressions(self) -> list[Any]:
        return [self.lhs]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.lhs,) = exprs

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **kwargs: Any) -> Any:
        sql, params = compiler.compile(self.lhs)
        return f"{sql} = ANY(%s)", (*params, self.values)


def _one_of(lhs: Any, values: list[str]) -> Any:
    """`lhs IN (values)`, as one array parameter on PostgreSQL: the backend quotes each
    parameter into the statement's text on the client, which for thousands costs seconds."""
    if connection.vendor == "postgresql":
        return _EqualsAny(lhs, values)
    return In(lhs, values)


def users_with_email(email: str) -> QuerySet[User]:
    """Every account using this email address, in any A-Z letter case (at most one, by index)."""
    key = email_normalise(email)
    if not key:
        return User._default_manager.none()
    # LOWER(email) is what the unique index holds, so the database can use it; the A-Z-only
    # comparison beside it is the exact one.
    return User._default_manager.filter(
        Exact(Lower("email"), key), Exact(_AsciiLower("email"), key)
    ).exclude(email="")


def user_for_email(email: str, *, active_only: bool = False) -> User | None:
    """The account that signs in with this email address, if there is one."""
    users = users_with_email(email)
    if active_only:
        users = users.filter(is_active=True)
    return users.order_by("pk").first()


def users_by_email(emails: Iterable[str]) -> dict[str, User]:
    """The accounts signing in with these addresses, by normalised address: a query a chunk."""
    keys = sorted({key for key in map(email_normalise, emails) if key})
    found: dict[str, User] = {}
    for chunk in _chunks(keys):
        wanted = set(chunk)
        users = (
            User._default_manager.filter(_one_of(Lower("email"), chunk))
            .exclude(email="")
            .order_by("pk")
        )
        for user in users:
            # As users_with_email's second comparison: A-Z folded, nothing else.
            key = user.email.translate(_ASCII_LOWER)
            if key in wanted:
                found.setdefault(key, user)
    return found


def usernames_taken(names: Iterable[str]) -> set[str]:
    """Those of these user names that an account already has: a query a chunk."""
    taken: set[str] = set()
    for chunk in _chunks(sorted(set(names))):
        taken.update(
            User._default_manager.filter(_one_of(F("username"), chunk)).values_list(
                "username", flat=True
            )
        )
    return taken


def email_taken(email: str, *, exclude_user_id: int | None = None) -> bool:
    """True when another account already uses this email as its address or its sign-in name."""
    users = users_with_email(email) | User._default_manager.filter(username=email_normalise(email))
    if exclude_user_id is not None:
        users = users.exclude(pk=exclude_user_id)
    return users.exists()


def user_set_email(*, user: User, email: str) -> None:
    """Give the user this address, and the sign-in name that goes with it (not saved).

    The address keeps the letter case it was given in, for display and mail; the sign-in name
    is its normalised form.
    """
    user.email = email_stored(email)
    user.username = email_normalise(email)


@dataclass(frozen=True)
class NewAccount:
    email: str
    first_name: str = ""
    last_name: str = ""


def _new_user(account: NewAccount) -> User:
    user = User(first_name=account.first_name, last_name=account.last_name)
    user_set_email(user=user, email=account.email)
    return user


def user_create(
    *, email: str, first_name: str = "", last_name: str = "", password: str | None = None
) -> User:
    """A new account signing in with `email`; without a password it has no usable one."""
    user = _new_user(NewAccount(email=email, first_name=first_name, last_name=last_name))
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def users_create_bulk(accounts: Sequence[NewAccount], *, batch_size: int = 1000) -> list[User]:
    """New accounts as user_create makes them without a password, a query per batch.

    For imports of thousands: no save() per user, and one unusable password shared by all
    (each is a random string no password hashes to, so sharing one gives nothing away).
    """
    unusable = make_password(None)
    users = [_new_user(account) for account in accounts]
    for user in users:
        user.password = unusable
    return bulk.rows_insert(users, key="username", batch_size=batch_size)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- Staff and customers apart: an account is one or the other, never both ------------------
#
# A customer's account is reached by customer paths (the lead webhook, sign-in and booking
# links, invitations, the import); none of them may reach an account that opens the admin.
# accounts never imports appointments: "a customer" is the reverse side of Customer.user, read
# by its name (`customer`).


class StaffCustomerMixed(Exception):
    """An account would be staff and a customer at once; the message says so to staff."""


def users_staff() -> QuerySet[User]:
    """Every account that opens the admin: staff or superuser (either one is enough)."""
    return User._default_manager.filter(Q(is_staff=True) | Q(is_superuser=True))


def user_is_staff(user: User) -> bool:
    """True for an account that opens the admin (staff or superuser): never a customer."""
    return bool(user.is_staff or user.is_superuser)


def user_is_customer(user: User) -> bool:
    """True when a customer record points at this account (read from the database)."""
    return (
        user.pk is not None
        and User._default_manager.filter(pk=user.pk, customer__isnull=False).exists()
    )


def customer_link_check(*, user: User) -> None:
    """Raise StaffCustomerMixed if this account is staff: it may not be a customer's."""
    if user_is_staff(user):
        raise StaffCustomerMixed(
            f"{_who(user)} is a staff account, and a staff account is never a customer: "
            "use another email address for the customer."
        )


def staff_grant_check(*, user: User) -> None:
    """Raise StaffCustomerMixed if this account is a customer's: it may not become staff."""
    if user_is_customer(user):
        raise StaffCustomerMixed(
            f"{_who(user)} is a customer's account, and a customer's account is never staff: "
            "give the staff member an account of their own, with another email address."
        )


def _who(user: User) -> str:
    return user.email or user.get_username()


def staff_create(*, email: str, password: str) -> User:
    """A new staff account with every right in the admin, signing in with `email`."""
    user = user_create(email=email, password=password)
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


# --- Sign-in lockout (django-axes records failures; accounts.lockout applies these rules) -----

ACCOUNT_AND_ADDRESS = "account_and_address"
ADDRESS = "address"
ACCOUNT = "account"


@dataclass(frozen=True)
class Lockout:
    """A lockout in force: which rule it is (one of the three above) and when it ends."""

    rule: str
    ends_at: dt.datetime


def _lockout_rules(*, username: str, ip_address: str | None) -> list[tuple[str, dict, int]]:
    """(rule, which failures it counts, how many lock out), for a sign-in attempt.

    One email from one address (AXES_FAILURE_LIMIT); one address across every email, so a
    spray of one password over many accounts is stopped (AXES_ADDRESS_FAILURE_LIMIT); one
    email across every address, so many addresses guessing at one account are stopped too
    (AXES_ACCOUNT_FAILURE_LIMIT), except from an address the account has signed in from.
    """
    rules: list[tuple[str, dict, int]] = [
        (
            ACCOUNT_AND_ADDRESS,
            {"username": username, "ip_address": ip_address},
            settings.AXES_FAILURE_LIMIT,
        )
    ]
    if ip_address:
        rules.append((ADDRESS, {"ip_address": ip_address}, settings.AXES_ADDRESS_FAILURE_LIMIT))
    if username and not (ip_address and _signed_in_from(username=username, ip_address=ip_address)):
        rules.append((ACCOUNT, {"username": username}, settings.AXES_ACCOUNT_FAILURE_LIMIT))
    return rules


def _signed_in_from(*, username: str, ip_address: str) -> bool:
    # An address this account has signed in from (axes logs every sign-in) is the owner's:
    # strangers guessing from elsewhere must not lock the owner out there.
    return AccessLog.objects.filter(username=username, ip_address=ip_address).exists()


def lockout_find(
    *, username: str, ip_address: str | None, now: dt.datetime | None = None
) -> Lockout | None:
    """The lockout this email from this address is under, if any (the latest-ending one).

    A rule locks out while the failures it counts within the cool-off reach its limit; so it
    ends when the failure that brought the count to the limit is a cool-off old. Attempts
    during a lockout are not recorded (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so
    they never move that time.
    """
    now = now or timezone.now()
    found: Lockout | None = None
    for rule, filters, limit in _lockout_rules(username=username, ip_address=ip_address):
        rows = (
            AccessAttempt.objects.filter(
                **filters, attempt_time__gte=now - settings.AXES_COOLOFF_TIME
            )
            .order_by("-attempt_time")
            .values_list("attempt_time", "failures_since_start")[:limit]
        )
        total = 0
        for attempt_time, failures in rows:
            total += failures
            if total >= limit:
                ends_at = attempt_time + settings.AXES_COOLOFF_TIME
                if found is None or ends_at > found.ends_at:
                    found = Lockout(rule=rule, ends_at=ends_at)
                break
    return found


def lockout_failures(
    *, username: str, ip_address: str | None, now: dt.datetime | None = None
) -> int:
    """Failed sign-ins for this email from this address within the cool-off."""
    since = (now or timezone.now()) - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(
        username=username, ip_address=ip_address, attempt_time__gte=since
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


def lockout_lift(*, user: User) -> int:
    """Forget the failed sign-ins for this account's email, from every address; how many.

    For when the owner has proved they hold the address (a password chosen through the
    emailed link) and for the demo accounts.
    """
    names = {email_normalise(user.get_username())}
    if user.email:
        names.add(email_normalise(user.email))
    return sum(axes_reset(username=name) for name in names)


def failures_before_lockout(*, failures: int) -> int:
    """How many more wrong passwords pause sign-in, after `failures` in a row."""
    return max(0, settings.AXES_FAILURE_LIMIT - failures)
