"""Everything the portal holds about a customer, as one readable JSON document (their copy)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.models import AccessFailureLog, AccessLog
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts import services as accounts
from appointments.models import Customer, LeadDelivery
from outbox.models import EmailRecord
from privacy import audit

ABOUT = {
    "account": "How you sign in: your email address, your name, and when you joined and last "
    "signed in. Your password is never kept in a form anyone can read.",
    "customer": "How we match you to your customer record in FLG 360, our customer system: "
    "its lead id, lead group and status.",
    "booking_sessions": "Each time you opened a booking screen: which appointment type, when "
    "it opened and closed, and whether your browser reported a booking. The appointments "
    "themselves are kept in FLG 360.",
    "flg_failures": "Times FLG 360 could not open a booking screen for you, and what we told you.",
    "lead_deliveries": "Each time FLG 360 sent us your details, and what changed here.",
    "emails": "The emails we sent you (sign-in links, invitations, notices): the kind and when. "
    "Their links are never kept.",
    "sign_ins": "Sign-ins and wrong passwords for your email address: when, from which network "
    "address and browser. Kept for a short time to protect your account.",
    "changes": "Changes made to your account or customer record, by whom (you, staff, or FLG "
    "360's updates) and which fields.",
}

# How the page names each part (the file keeps the keys).
TITLES = {
    "account": "Account",
    "customer": "Customer record",
    "booking_sessions": "Booking sessions",
    "flg_failures": "Booking screens that did not open",
    "lead_deliveries": "Updates from FLG 360",
    "emails": "Emails",
    "sign_ins": "Sign-ins",
    "changes": "Changes",
}


def _when(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _sign_ins(email: str) -> list[dict[str, Any]]:
    name = accounts.email_normalise(email)
    rows: list[dict[str, Any]] = []
    for model, outcome in ((AccessLog, "signed in"), (AccessFailureLog, "wrong password")):
        for record in model.objects.filter(username=name).order_by("-attempt_time"):
            rows.append(
                {
                    "when": _when(record.attempt_time),
                    "outcome": outcome,
                    "network_address": record.ip_address,
                    "browser": record.user_agent,
                }
            )
    return sorted(rows, key=lambda row: row["when"] or "", reverse=True)


def customer_data_export(*, customer: Customer) -> dict[str, Any]:
    """The customer's data, each part with a short `about` saying what it is."""
    user = customer.user
    group = customer.lead_group
    parts: dict[str, Any] = {
        "account": {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "joined": _when(user.date_joined),
            "last_signed_in": _when(user.last_login),
            "has_password": user.has_usable_password(),
        },
        "customer": {
            "flg_lead_id": customer.lead_id,
            "lead_group": group.name if group is not None else None,
            "flg_status": customer.flg_status,
        },
        "booking_sessions": [
            {
                "appointment_type": s.appointment_type.name,
                "opened": _when(s.created_at),
                "closes": _when(s.closes_at),
                "booked_reported": _when(s.booked_at),
                "appointment_starts": _when(s.slot_starts_at),
                "appointment_ends": _when(s.slot_ends_at),
            }
            for s in customer.sessions.select_related("appointment_type").order_by("-created_at")
        ],
        "flg_failures": [
            {"when": _when(f.created_at), "what_we_told_you": f.customer_message}
            for f in customer.failures.order_by("-created_at")
        ],
        "lead_deliveries": [
            {"when": _when(d.created_at), "outcome": d.outcome, "changed": d.changed}
            for d in LeadDelivery.objects.filter(
                Q(customer=customer) | Q(lead_id=customer.lead_id)
            ).order_by("-created_at")
        ],
        "emails": [
            {"kind": r.kind, "status": r.status, "queued": _when(r.queued_at)}
            for r in EmailRecord.objects.filter(user_id=user.pk).order_by("-queued_at")
        ],
        "sign_ins": _sign_ins(user.email),
        "changes": [
            {
                "when": _when(e.timestamp),
                "by": "you"
                if e.actor_id == user.pk
                else "staff"
                if e.actor_id
                else "FLG 360 or the system",
                "what": audit.audit_event(e),
            }
            for e in audit.audit_entries_for(user_pk=user.pk, customer_pk=customer.pk)
        ],
    }
    return {
        "portal": settings.PORTAL_NAME,
        "exported": _when(timezone.now()),
        "about": ABOUT,
        **parts,
    }
