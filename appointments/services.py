"""Booking use-cases: which types a customer may book, and their appointment sessions."""

from __future__ import annotations

from typing import Any

from appointments.models import AppointmentType, Customer


def customer_for_user(*, user: Any) -> Customer | None:
    """The customer record linked to a signed-in user, or None when there is none yet."""
    if not user.is_authenticated:
        return None
    return Customer.objects.select_related("lead_group").filter(user=user).first()


def appointment_types_for_customer(*, customer: Customer) -> list[AppointmentType]:
    """Active types the customer's lead may book: for all lead groups or for their own."""
    return list(AppointmentType.objects.bookable_by(customer))
