"""The audit trail: who changed which customer, type or setting, when, and what changed.

django-auditlog records every change to the models registered here, whatever made it (the
admin, the import, the webhook, a shell), with the actor and address privacy.middleware sets.
Actions that change no row are recorded explicitly (`audit_record`): booking-link exports,
invitations sent, erasures and data downloads. Entries are kept RETENTION_AUDIT_DAYS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, TextField
from django.db.models.functions import Cast

from appointments.models import AppointmentType, Customer, LeadGroup

BOOKING_LINKS_EXPORTED = "booking links exported"
INVITATIONS_SENT = "invitations sent"
CUSTOMER_ERASED = "customer erased"
DATA_DOWNLOADED = "data downloaded"
ERASED = "[erased]"


def models_register() -> None:
    """Follow customers (and their accounts), types, lead groups and the portal's settings."""
    # Passwords are never recorded; a sign-in is not a change anyone made to the account.
    auditlog.register(get_user_model(), exclude_fields=["password", "last_login"])
    auditlog.register(Customer)
    auditlog.register(AppointmentType)
    auditlog.register(LeadGroup)
    if apps.is_installed("business"):
        # The portal's own settings and the wording of its emails (staff edit both).
        for label in ("business.PortalSettings", "business.EmailText"):
            auditlog.register(apps.get_model(label))


def audit_record(
    *, instance: Model, event: str, actor: Any, details: dict[str, Any] | None = None
) -> LogEntry:
    """Record an action that changed no row (an export, a download): ids and counts only."""
    entry = LogEntry.objects.log_create(
        instance,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        actor=actor if actor is not None and actor.is_authenticated else None,
        additional_data={"event": event, **(details or {})},
    )
    assert entry is not None
    return entry


def audit_event(entry: LogEntry) -> str:
    """What an entry records, in a few words: its event, or the fields it changed."""
    data = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    if data.get("event"):
        extra = ", ".join(
            f"{k}: {v}" for k, v in data.items() if k != "event" and not isinstance(v, list)
        )
        return f"{data['event']} ({extra})" if extra else str(data["event"])
    return ", ".join(sorted(entry.changes_dict)) if entry.changes else ""


def audit_entries_for(*, user_pk: int, customer_pk: int) -> Any:
    """Entries about this customer's account and customer record."""
    return LogEntry.objects.filter(
        Q(content_type=ContentType.objects.get_for_model(get_user_model()), object_id=user_pk)
        | Q(content_type=ContentType.objects.get_for_model(Customer), object_id=customer_pk)
    )


def audit_scrub(*, user_pk: int, customer_pk: int, texts: list[str], search: bool = True) -> int:
    """Empty what entries say about an erased customer; the entries (who did what) stay.

    With `search`, also every other entry whose text holds one of `texts` (a scan of the
    trail: right for one erasure, left out for the retention rule's many).
    """
    texts = [t for t in texts if t]
    about = Q(pk__in=audit_entries_for(user_pk=user_pk, customer_pk=customer_pk).values("pk"))
    for text in texts if search else []:
        # Anywhere else the name or email was written: a foreign key's text, a search.
        about |= Q(pk__in=_mentioning(text))
    scrubbed = 0
    for entry in LogEntry.objects.filter(about):
        entry.changes = {field: [ERASED, ERASED] for field in (entry.changes_dict or {})}
        entry.changes_text = ""
        entry.object_repr = ERASED
        entry.serialized_data = None
        data = entry.additional_data if isinstance(entry.additional_data, dict) else {}
        entry.additional_data = {k: v for k, v in data.items() if not _holds(v, texts)} or None
        # Saved as is: LogEntry is not itself followed, so no new entry repeats it.
        entry.save()
        scrubbed += 1
    # Entries of what the customer did themselves: no longer tied to anyone.
    scrubbed += LogEntry.objects.filter(actor_id=user_pk).update(actor=None, actor_email=None)
    return scrubbed


def _mentioning(text: str) -> Any:
    return (
        LogEntry.objects.annotate(
            _changes=Cast("changes", TextField()), _data=Cast("additional_data", TextField())
        )
        .filter(
            Q(object_repr__icontains=text)
            | Q(_changes__icontains=text)
            | Q(changes_text__icontains=text)
            | Q(_data__icontains=text)
            | Q(actor_email__iexact=text)
        )
        .values("pk")
    )


def _holds(value: Any, texts: list[str]) -> bool:
    return any(t.lower() in str(value).lower() for t in texts)


def audit_prune(*, cutoff: dt.datetime) -> int:
    """Delete entries older than `cutoff`; how many went."""
    deleted, _ = LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    return deleted


def audit_record_many(
    *, model: type[Model], event: str, actor: Any, details: dict[str, Any]
) -> LogEntry:
    """Record an action on many rows of `model` at once (an export, invitations): one entry."""
    count = details.get("customers", "")
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(model),
        object_pk="",
        object_repr=f"{count} {model._meta.verbose_name_plural}",
        action=LogEntry.Action.ACCESS,
        actor=actor if actor is not None and actor.is_authenticated else None,
        additional_data={"event": event, **details},
    )
