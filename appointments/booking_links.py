"""Personal booking links: one customer, one appointment type, reusable for a few days.

For campaigns ("book your annual service"): the link opens that type's Book page signed in,
and one press of Book opens FLG's booking screen. Tokens are accounts.links' tokens, for the
purpose `booking:<type id>`, carrying the customer's `booking_links_revision`: staff revoke
every link of a customer at once by moving it on. A session begun from one may book but not
change the account (accounts.links.sign_in_for_booking).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import links
from appointments.models import AppointmentType, Customer
from business import events
from business.models import Event

CSV_COLUMNS = ["email", "first_name", "last_name", "lead_id", "type", "link", "expires"]
MAX_DAYS = 365


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class BookingLink:
    url: str
    expires: dt.datetime


def _purpose(appointment_type: AppointmentType) -> str:
    return f"booking:{appointment_type.pk}"


def booking_link_create(
    *,
    customer: Customer,
    appointment_type: AppointmentType,
    base_url: str,
    days: int | None = None,
) -> BookingLink:
    """A link that signs this customer in on this type's Book page, for `days` days."""
    days = settings.BOOKING_LINK_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"A booking link lasts 1 to {MAX_DAYS} days, not {days}.")
    expires = (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
    token = links.token_create(
        user=customer.user,
        purpose=_purpose(appointment_type),
        expires=expires,
        numbers=[customer.booking_links_revision],
    )
    path = reverse("booking_link", kwargs={"slug": appointment_type.slug, "token": token})
    return BookingLink(url=base_url.rstrip("/") + path, expires=expires)


def booking_link_owner(*, token: str, appointment_type: AppointmentType) -> User | None:
    """The account a link for this type was made for, even expired or revoked; None if
    altered."""
    return links.token_owner(token=token, purpose=_purpose(appointment_type))


def booking_link_customer(*, token: str, appointment_type: AppointmentType) -> Customer | None:
    """The customer a link for this type is for, if it still works and they may book the type."""
    found = links.token_read(token=token, purpose=_purpose(appointment_type))
    if found is None or len(found.numbers) != 1:
        return None
    customer = (
        Customer.objects.select_related("user", "lead_group")
        .filter(user=found.user, booking_links_revision=found.numbers[0])
        .first()
    )
    if customer is None:
        return None
    if not AppointmentType.objects.bookable_by(customer).filter(pk=appointment_type.pk).exists():
        return None
    return customer


def booking_links_revoke(*, customers: QuerySet[Customer]) -> int:
    """Stop every booking link of these customers working; how many customers."""
    return customers.update(booking_links_revision=F("booking_links_revision") + 1)


def booking_links_for_customer(
    *, customer: Customer, base_url: str
) -> list[tuple[AppointmentType, BookingLink]]:
    """A fresh link for each type the customer may book, for the admin's customer page."""
    return [
        (t, booking_link_create(customer=customer, appointment_type=t, base_url=base_url))
        for t in AppointmentType.objects.bookable_by(customer)
    ]


def booking_links_customers(
    *, appointment_type: AppointmentType, customers: QuerySet[Customer] | None = None
) -> QuerySet[Customer]:
    """Of `customers` (all by default), those a link for this type would work for."""
    customers = Customer.objects.all() if customers is None else customers
    if appointment_type.lead_group_id is not None:
        customers = customers.filter(lead_group_id=appointment_type.lead_group_id)
    return customers.filter(
        user__is_active=True, user__is_staff=False, user__is_superuser=False
    ).select_related("user")


def booking_links_rows(
    *,
    appointment_type: AppointmentType,
    customers: Iterable[Customer],
    base_url: str,
    days: int | None = None,
) -> Iterator[list[str]]:
    """One CSV row per customer, columns as CSV_COLUMNS, ready for a mail merge.

    Each link made counts once on the dashboard (written a thousand at a time)."""
    made: list[int] = []
    for customer in customers:
        link = booking_link_create(
            customer=customer, appointment_type=appointment_type, base_url=base_url, days=days
        )
        made.append(customer.user_id)
        if len(made) >= 1000:
            events.events_record(
                kind=Event.Kind.BOOKING_LINK, user_ids=made, appointment_type_id=appointment_type.pk
            )
            made = []
        yield [
            customer.user.email,
            customer.user.first_name,
            customer.user.last_name,
            customer.lead_id,
            appointment_type.name,
            link.url,
            timezone.localtime(link.expires).isoformat(),
        ]
    events.events_record(
        kind=Event.Kind.BOOKING_LINK, user_ids=made, appointment_type_id=appointment_type.pk
    )


def booking_links_csv_write(*, rows: Iterable[list[str]], out: Writable) -> int:
    """Write the header and rows as CSV; how many rows."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_safe_cell(cell) for cell in row])
        count += 1
    return count


def _safe_cell(value: str) -> str:
    # A spreadsheet runs a cell that starts like a formula; names come from customers' records.
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value
