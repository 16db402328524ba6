"""Appointment types checked against FLG 360: does FLG know the type's id? No session is made.

Staff copy a type's id by hand from FLG 360, and FLG has no endpoint that reads a type, so a
mistyped id used to show only when a customer pressed Book. The admin checks the id on every
save (flg.connection.type_check says how without a session), the type keeps what the last
check found, and customers are never offered a type FLG did not know
(models.AppointmentTypeQuerySet.bookable_by).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from appointments.models import AppointmentType
from flg import connection

FlgCheck = AppointmentType.FlgCheck


@dataclass(frozen=True)
class TypeChecked:
    """What one check found: FlgCheck.KNOWN or UNKNOWN, or None when it could not tell."""

    found: FlgCheck | None
    summary: str


def appointment_type_check(*, appointment_type: AppointmentType, id_changed: bool) -> TypeChecked:
    """Ask FLG whether it knows the type's id and record the answer on the type.

    A check that cannot tell (FLG down, an answer that says nothing) never blocks anything:
    the last verdict stands while the id is the one it was about (`id_changed` False), and a
    new id is "not checked".
    """
    checked = connection.type_check(appointment_type=appointment_type.flg_id)
    now = timezone.now()
    fields = ["flg_check", "flg_checked_at", "flg_check_note"]
    if checked.verdict == connection.KNOWN:
        found: FlgCheck | None = FlgCheck.KNOWN
    elif checked.verdict == connection.UNKNOWN:
        found = FlgCheck.UNKNOWN
    else:
        found = None
    if found is not None:
        appointment_type.flg_check, appointment_type.flg_checked_at = found, now
        appointment_type.flg_check_note = checked.summary[:300]
    else:
        if id_changed:
            appointment_type.flg_check, appointment_type.flg_checked_at = FlgCheck.NOT_CHECKED, None
        when = timezone.localtime(now).strftime("%d %b %Y %H:%M")
        appointment_type.flg_check_note = f"Could not check on {when}: {checked.summary}"[:300]
    AppointmentType.objects.filter(pk=appointment_type.pk).update(
        **{name: getattr(appointment_type, name) for name in fields}
    )
    return TypeChecked(found, checked.summary)
