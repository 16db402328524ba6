"""What a customer is offered: the types they may book, and their sessions as pages read them.

The queries of every home page, Book press and session page: built by the ORM once per
process (precompiled), since building them cost more CPU than PostgreSQL takes to answer.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef

from appointments.models import (
    AppointmentSession,
    AppointmentType,
    AppointmentTypeQuerySet,
    Customer,
)
from precompiled import Precompiled


def customer_for_user(*, user: Any) -> Customer | None:
    """The customer record linked to a signed-in user, or None when there is none yet."""
    if not user.is_authenticated:
        return None
    try:
        # Loaded with the user (settings.ACCOUNTS_USER_RELATED), so no query of its own.
        customer: Customer = user.customer
    except Customer.DoesNotExist:
        return None
    return customer


def customer_may_book(*, customer: Customer) -> bool:
    """False while FLG has the lead in a status of FLG_WEBHOOK_NO_BOOKING_STATUSES."""
    status = customer.flg_status.strip().casefold()
    return not status or status not in {
        s.casefold() for s in settings.FLG_WEBHOOK_NO_BOOKING_STATUSES
    }


# A lead group, a customer, a session and a slug no one has: where each call's own go.
_GROUP = -1_730_194_713
_CUSTOMER = -1_730_194_714
_SESSION = uuid.UUID("00000000-0000-4000-8000-00000000b00c")
_SLUG = "\x00slug"


def _bookable_query(group: int | None) -> AppointmentTypeQuerySet:
    return AppointmentType.objects.bookable_by(Customer(lead_group_id=group))


# bookable_by's query for a customer with a lead group and without (the ORM writes each its
# own SQL), all their types or the one with a slug. Built once per process: building it cost
# more CPU than running it, on every home page and every Book press.
_BOOKABLE = {
    True: Precompiled(_bookable_query, group=_GROUP),
    False: Precompiled(lambda: _bookable_query(None)),
}
_BOOKABLE_BY_SLUG = {
    True: Precompiled(
        lambda group, slug: _bookable_query(group).filter(slug=slug), group=_GROUP, slug=_SLUG
    ),
    False: Precompiled(lambda slug: _bookable_query(None).filter(slug=slug), slug=_SLUG),
}


def _bookable_types(customer: Customer, slug: str | None = None) -> list[AppointmentType]:
    if not customer_may_book(customer=customer):
        return []
    with_group = customer.lead_group_id is not None
    if slug is None:
        return _BOOKABLE[with_group].all(group=customer.lead_group_id)
    return _BOOKABLE_BY_SLUG[with_group].all(group=customer.lead_group_id, slug=slug)[:1]


def appointment_types_for_customer(*, customer: Customer) -> list[AppointmentType]:
    """Active types the customer's lead may book: for all lead groups or for their own."""
    return _bookable_types(customer)


def appointment_type_for_customer(*, customer: Customer, slug: str) -> AppointmentType | None:
    """The bookable type with this slug, or None when it does not exist or is not offered."""
    found = _bookable_types(customer, slug)
    return found[0] if found else None


def session_for_customer(
    *, customer: Customer, session_id: Any, slug: str, bookable_only: bool = True
) -> AppointmentSession | None:
    """The customer's own session at this address, or None (others' sessions do not exist).

    Only for a type the customer may still book, unless `bookable_only` is off: a refresh of
    one switched off or moved to another lead group since would create a session FLG refuses
    or staff no longer offer.
    """
    session, bookable = session_with_bookable(customer=customer, session_id=session_id, slug=slug)
    return session if bookable or not bookable_only else None


def _session_page_query(session: uuid.UUID, customer: int, slug: str, group: int | None) -> Any:
    bookable = _bookable_query(group).order_by().filter(pk=OuterRef("appointment_type"))
    return (
        AppointmentSession.objects.select_related("appointment_type")
        .filter(pk=session, customer_id=customer, appointment_type__slug=slug)
        .annotate(bookable=Exists(bookable))
    )


# The session page's one query, with a lead group and without; built once per process.
_SESSION_PAGE = {
    True: Precompiled(
        _session_page_query, session=_SESSION, customer=_CUSTOMER, slug=_SLUG, group=_GROUP
    ),
    False: Precompiled(
        lambda session, customer, slug: _session_page_query(session, customer, slug, None),
        session=_SESSION,
        customer=_CUSTOMER,
        slug=_SLUG,
    ),
}


def session_with_bookable(
    *, customer: Customer, session_id: Any, slug: str
) -> tuple[AppointmentSession | None, bool]:
    """The customer's own session at this address (None: others' sessions do not exist), and
    whether its type is one they may still book; one query for the session page."""
    query = _SESSION_PAGE[customer.lead_group_id is not None]
    session = query.first(
        session=uuid.UUID(str(session_id)),
        customer=customer.pk,
        slug=slug,
        group=customer.lead_group_id,
    )
    if session is None:
        return None, False
    return session, bool(getattr(session, "bookable", False)) and customer_may_book(
        customer=customer
    )
