"""The figures on the admin's first page: from invitation to booking, for a period and a type.

Counted from what the portal keeps anyway (the outbox's email records, the appointment
sessions, FLG failures, lead deliveries) and the events business.events records for the steps
nothing else keeps (a first sign-in, a booking link made). Ids and counts only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType, FlgFailure, LeadDelivery
from business.charts import Chart, bar_chart
from business.models import Event
from flg.errors import ErrorCode
from outbox.models import EmailRecord

PERIODS = (7, 30, 90)
INVITE_KIND = "invite"
SIGN_IN_LINK_KIND = "sign_in_link"


@dataclass(frozen=True)
class Step:
    label: str
    count: int
    # Of the step before, in per cent (None for the first step or when the step before is 0).
    conversion: int | None
    # True when the appointment type filter applies to this step.
    by_type: bool


@dataclass(frozen=True)
class Dashboard:
    days: int
    appointment_type: AppointmentType | None
    since: dt.datetime
    steps: list[Step]
    sign_in_links: int
    booking_links: int
    failures: list[tuple[str, int]]
    deliveries: list[tuple[str, int]]

    def charts(self) -> list[Chart]:
        def note(step: Step) -> str:
            return "" if step.conversion is None else f"{step.conversion}% of the step before"

        return [
            bar_chart(
                "From invitation to booking", [(s.label, s.count, note(s)) for s in self.steps]
            ),
            bar_chart("FLG failures by kind", [(label, n, "") for label, n in self.failures]),
            bar_chart(
                "Lead webhook deliveries by outcome",
                [(label, n, "") for label, n in self.deliveries],
            ),
        ]


def _conversion(count: int, before: int | None) -> int | None:
    if not before:
        return None
    return round(100 * count / before)


def dashboard_figures(
    *, days: int, appointment_type: AppointmentType | None = None, now: dt.datetime | None = None
) -> Dashboard:
    """Every figure for the `days` up to `now`; by `appointment_type` where a step has one."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    typed: dict[str, object] = (
        {} if appointment_type is None else {"appointment_type": appointment_type}
    )
    invited = (
        EmailRecord.objects.filter(kind=INVITE_KIND, queued_at__gte=since)
        .values("user_id")
        .distinct()
        .count()
    )
    sign_in_links = EmailRecord.objects.filter(
        kind=SIGN_IN_LINK_KIND, status=EmailRecord.Status.SENT, finished_at__gte=since
    ).count()
    booking_links = Event.objects.filter(kind=Event.Kind.BOOKING_LINK, at__gte=since)
    if appointment_type is not None:
        booking_links = booking_links.filter(appointment_type_id=appointment_type.pk)
    booking_link_count = booking_links.count()
    came_in = (
        Event.objects.filter(kind=Event.Kind.FIRST_SIGN_IN, at__gte=since)
        .values("user_id")
        .distinct()
        .count()
    )
    opened = AppointmentSession.objects.filter(created_at__gte=since, **typed).count()
    booked = AppointmentSession.objects.filter(booked_at__gte=since, **typed).count()
    counts = [
        ("Customers invited", invited, False),
        ("Sign-in and booking links sent", sign_in_links + booking_link_count, True),
        ("Customers who came in", came_in, False),
        ("Booking screens opened", opened, True),
        ("Bookings reported", booked, True),
    ]
    steps, before = [], None
    for label, count, by_type in counts:
        steps.append(Step(label, count, _conversion(count, before), by_type))
        before = count
    failures = dict(
        FlgFailure.objects.filter(created_at__gte=since, **typed)
        .values_list("code")
        .annotate(n=Count("id"))
        .values_list("code", "n")
    )
    deliveries = dict(
        LeadDelivery.objects.filter(created_at__gte=since)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    return Dashboard(
        days=days,
        appointment_type=appointment_type,
        since=since,
        steps=steps,
        sign_in_links=sign_in_links,
        booking_links=booking_link_count,
        failures=[(str(code.label), failures.get(code.value, 0)) for code in ErrorCode],
        deliveries=[(str(o.label), deliveries.get(o.value, 0)) for o in LeadDelivery.Outcome],
    )
