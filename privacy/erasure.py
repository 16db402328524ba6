"""Erasing a customer: their account made unusable, their name and email gone everywhere.

What the business needs to count stays as anonymous rows (the customer record, their booking
sessions, FLG failures), so the admin's totals do not move. The FLG lead id goes too unless
staff keep it: then the customer row keeps it, marked erased, and a lead delivery for it is
skipped ("erased"), never re-created (appointments.leads). FLG keeps its own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditlog.context import disable_auditlog
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import services as accounts
from appointments.models import Customer, FlgFailure, LeadDelivery
from outbox.models import EmailRecord
from privacy import audit
from privacy.models import Erasure

ERASED = audit.ERASED
CANCELLED = "Cancelled: the customer was erased."


@dataclass(frozen=True)
class Planned:
    """One line of what an erasure will do, for the confirmation page."""

    what: str
    count: int
    fate: str


def _usernames(user: Any) -> list[str]:
    return sorted({n for n in (user.username, accounts.email_normalise(user.email)) if n})


def _access_records(user: Any) -> list[Any]:
    names = _usernames(user)
    return [
        m.objects.filter(username__in=names) for m in (AccessAttempt, AccessFailureLog, AccessLog)
    ]


def erasure_plan(*, customer: Customer, keep_lead_id: bool) -> list[Planned]:
    """What erasing this customer removes, empties and keeps, with counts."""
    user = customer.user
    lead = "kept, so the lead webhook never re-creates them" if keep_lead_id else "removed"
    deliveries = LeadDelivery.objects.filter(Q(customer=customer) | Q(lead_id=customer.lead_id))
    return [
        Planned("Account: sign-in name, email, first and last name, password", 1, "removed"),
        Planned("Signed-in browser sessions", 0, "ended"),
        Planned("FLG lead id on the customer and their sessions", 1, lead),
        Planned("Booking sessions", customer.sessions.count(), "kept as anonymous rows"),
        Planned("FLG failure records", customer.failures.count(), "kept as anonymous rows"),
        Planned(
            "Lead deliveries from FLG",
            deliveries.count(),
            "kept (they hold no name or email)" if keep_lead_id else "deleted",
        ),
        Planned(
            "Email records",
            EmailRecord.objects.filter(user_id=user.pk).count(),
            "kept without the address; any not yet sent are cancelled",
        ),
        Planned(
            "Sign-in attempts and sign-in log",
            sum(qs.count() for qs in _access_records(user)),
            "deleted",
        ),
        Planned(
            "Audit trail entries about them",
            audit.audit_entries_for(user_pk=user.pk, customer_pk=customer.pk).count(),
            "kept without their name or email",
        ),
    ]


def _signed_in_sessions() -> dict[str, list[str]]:
    """The live database sessions by the user id signed in with them: one scan of the table
    (SESSION_ENGINE is the database), however many customers are erased."""
    found: dict[str, list[str]] = {}
    for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        user_pk = str(s.get_decoded().get("_auth_user_id", ""))
        if user_pk:
            found.setdefault(user_pk, []).append(s.pk)
    return found


def _sessions_end(user_pk: int, sessions: dict[str, list[str]]) -> int:
    ended = sessions.pop(str(user_pk), [])
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def _erase(
    customer: Customer,
    *,
    keep_lead_id: bool,
    keep_session_lead_ids: bool,
    reason: str,
    by: Any,
    sessions: dict[str, list[str]] | None,
) -> Erasure | None:
    # `sessions` None is the retention rule's erasure of many long-silent customers: no
    # browser session of theirs is alive, and their trail is past its own retention, so the
    # scans of the sessions table and of the whole trail are left out.
    customer = Customer.objects.select_for_update().select_related("user").get(pk=customer.pk)
    user = customer.user
    if customer.erased_at is not None or user.is_staff or user.is_superuser:
        # Erased already, or a record wrongly linked to a staff account, which is never erased
        # from here (manage.py unlink_staff_customers unlinks it first).
        return None
    lead_id = customer.lead_id
    texts = [user.email, user.username, user.first_name, user.last_name, user.get_full_name()]
    removed: dict[str, int] = {}
    removed["sign-in records"] = sum(qs.delete()[0] for qs in _access_records(user))
    removed["browser sessions"] = _sessions_end(user.pk, sessions) if sessions is not None else 0
    records = EmailRecord.objects.filter(user_id=user.pk)
    records.filter(status=EmailRecord.Status.QUEUED).update(
        status=EmailRecord.Status.FAILED, last_error=CANCELLED, finished_at=timezone.now()
    )
    removed["email records emptied"] = records.update(recipient=ERASED, address="", params={})
    deliveries = LeadDelivery.objects.filter(Q(customer=customer) | Q(lead_id=lead_id))
    if not keep_lead_id:
        removed["lead deliveries"] = deliveries.delete()[0]
        for field in ("detail", "customer_message"):
            FlgFailure.objects.filter(customer=customer, **{f"{field}__contains": lead_id}).update(
                **{field: ERASED}
            )
    customer.sessions.update(
        public_url="", **({} if keep_session_lead_ids or keep_lead_id else {"lead_id": ""})
    )
    removed["audit entries emptied"] = audit.audit_scrub(
        user_pk=user.pk, customer_pk=customer.pk, texts=texts, search=sessions is not None
    )
    for model, pk in ((get_user_model(), user.pk), (Customer, customer.pk)):
        AdminLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model), object_id=str(pk)
        ).update(object_repr=ERASED)
    user.username = f"erased-{user.pk}"
    user.email = user.first_name = user.last_name = ""
    user.set_unusable_password()
    user.is_active = False
    user.last_login = None
    user.save()
    Customer.objects.filter(pk=customer.pk).update(
        lead_id=lead_id if keep_lead_id else f"erased-{customer.pk}",
        flg_status="",
        erased_at=timezone.now(),
        booking_links_revision=F("booking_links_revision") + 1,
    )
    summary = ", ".join(f"{count} {what}" for what, count in removed.items())
    return Erasure.objects.create(
        reason=reason,
        customer_id=customer.pk,
        by=by if by is not None and by.is_authenticated else None,
        lead_id_kept=lead_id if keep_lead_id else "",
        removed=summary[:300],
    )


def customer_erase(
    *, customer: Customer, keep_lead_id: bool, by: Any, reason: str = Erasure.Reason.STAFF
) -> Erasure | None:
    """Erase the customer (see the top); None if they were erased already.

    `by` is the staff member who asked, or the customer themselves (reason CUSTOMER).
    """
    [erased] = customers_erase(
        customers=[customer], keep_lead_id=keep_lead_id, by=by, reason=reason
    )
    return erased


def customers_erase(
    *,
    customers: list[Customer],
    keep_lead_id: bool,
    by: Any,
    reason: str = Erasure.Reason.STAFF,
) -> list[Erasure | None]:
    """Erase each customer as customer_erase does, reading the sessions table once for all."""
    sessions = _signed_in_sessions()
    done: list[Erasure | None] = []
    for customer in customers:
        with transaction.atomic(), disable_auditlog():
            erased = _erase(
                customer,
                keep_lead_id=keep_lead_id,
                keep_session_lead_ids=False,
                reason=reason,
                by=by,
                sessions=sessions,
            )
        if erased is not None:
            customer.refresh_from_db()
            audit.audit_record(
                instance=customer,
                event=audit.CUSTOMER_ERASED,
                actor=by if reason == Erasure.Reason.STAFF else None,
                details={"reason": reason, "lead id kept": keep_lead_id},
            )
        done.append(erased)
    return done


def customer_anonymise(*, customer: Customer) -> Erasure | None:
    """The retention rule's erasure: FLG's lead ids stay on the sessions, the customer's goes.

    A lead delivered again later creates a fresh customer, as for a new lead.
    """
    with transaction.atomic(), disable_auditlog():
        return _erase(
            customer,
            keep_lead_id=False,
            keep_session_lead_ids=True,
            reason=Erasure.Reason.RETENTION,
            by=None,
            sessions=None,
        )
