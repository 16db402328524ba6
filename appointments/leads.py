"""Leads pushed by FLG 360's webhook: customers kept in step with FLG, and every delivery kept.

FLG signs nothing, so whoever holds the webhook's URL can post. What a delivery may change is
therefore limited: it never moves an email address from one account to another, never links
an account to another lead and never touches a staff account (a conflict: nothing changes,
staff see it). What the portal cannot store, such as an email longer than an account's
sign-in name holds, is a permanent answer (skipped, with a reason), never "send it again".
Deliveries repeat, cross and arrive together; each is applied in one transaction, serialised by
the customer's row lock and, for a lead that is new, by the unique lead id and email (the loser
reads again).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import invites, notices
from accounts import services as accounts
from appointments import metrics
from appointments.models import Customer, LeadDelivery, LeadGroup
from flg import webhooks

logger = logging.getLogger("appointments.leads")

Outcome = LeadDelivery.Outcome
# A new lead delivered several times at once: all but one insert fail on the unique lead id or
# email and read again, when the winner's rows are there to be found.
ATTEMPTS = 3
# Django's User: names of at most 150 characters, an email of at most 254.
NAME_LENGTH = 150
# How the token shows where staff read about the webhook, as in the access log.
MASK = "[token]"
EMAIL_LENGTH = 254
STAFF_EMAIL_REASON = (
    "The email address belongs to a staff account, and a staff account is never a customer. "
    "Nothing changed."
)
LINKED_TO_STAFF_REASON = (
    "The lead's customer record is linked to a staff account, and a staff account is never a "
    "customer: nothing changed (manage.py unlink_staff_customers unlinks it)."
)

ERASED_REASON = (
    "The lead's customer was erased (privacy), and its lead id kept so that FLG never "
    "re-creates them: nothing was stored."
)


class _Raced(IntegrityError):
    """A simultaneous delivery of the same lead created it after this one looked for it."""


@dataclass(frozen=True)
class _Applied:
    outcome: str
    reason: str = ""
    changed: list[str] = field(default_factory=list)
    customer: Customer | None = None


# --- The webhook's configuration --------------------------------------------------------------


def webhook_token_valid(token: str) -> bool:
    """True when `token` is one of FLG_WEBHOOK_TOKEN's, compared in constant time."""
    matched = False
    for expected in settings.FLG_WEBHOOK_TOKENS:
        # Every token is compared, so the time taken says nothing about which one nearly matched.
        matched |= hmac.compare_digest(token.encode(), expected.encode())
    return matched


def webhook_path(*, token: str) -> str:
    """The endpoint's path for this token (give FLG the full URL with the portal's address)."""
    return reverse("lead_webhook", kwargs={"token": token})


def webhook_status() -> tuple[bool, str]:
    """Whether FLG can push leads, and one line for staff saying so (never the token)."""
    tokens = settings.FLG_WEBHOOK_TOKENS
    if not tokens:
        return False, (
            "Lead webhook not configured: FLG_WEBHOOK_TOKEN is not set, so FLG 360 cannot "
            "push leads and customers come only from the CSV import."
        )
    line = f"Lead webhook configured at {unquote(webhook_path(token=MASK))}"
    if len(tokens) == 2:
        line += " with two tokens (a change-over: remove the old one once FLG uses the new URL)"
    last = LeadDelivery.objects.order_by("-created_at").first()
    if last is None:
        line += "; no delivery received yet."
    else:
        when = timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M")
        line += f"; last delivery {when} (lead {last.lead_id}, {last.get_outcome_display()})."
    return True, line


# --- Reading a delivery ---------------------------------------------------------------------


def _valid_email(raw: str) -> str:
    email = raw.strip().lower()
    if not email or len(email) > EMAIL_LENGTH:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def _email_limit() -> int:
    """The longest address an account holds: its sign-in name is the address, and shorter."""
    meta: Any = get_user_model()._meta
    return min(int(meta.get_field(name).max_length) for name in ("username", "email"))


def _email_too_long(email: str) -> bool:
    # Measured as stored: NFC may lengthen a non-ASCII domain.
    limit = _email_limit()
    return len(accounts.email_normalise(email)) > limit or len(accounts.email_stored(email)) > limit


def _names(delivery: webhooks.LeadPayload) -> tuple[str, str]:
    first, last = delivery.first_name, delivery.last_name
    if not first and not last and delivery.full_name:
        first, _, last = delivery.full_name.partition(" ")
    return first[:NAME_LENGTH], last.strip()[:NAME_LENGTH]


def _status(delivery: webhooks.LeadPayload) -> str:
    return delivery.status[: Customer._meta.get_field("flg_status").max_length]


def _lead_group(delivery: webhooks.LeadPayload) -> tuple[LeadGroup | None, bool]:
    """The delivery's lead group, found or created, renamed to FLG's name; and if renamed."""
    if delivery.lead_group_id is None:
        return None, False
    name = delivery.lead_group_name[: LeadGroup._meta.get_field("name").max_length]
    group, created = LeadGroup.objects.get_or_create(
        flg_id=delivery.lead_group_id,
        defaults={"name": name or f"Lead group {delivery.lead_group_id}"},
    )
    if created or not name or group.name == name:
        return group, False
    LeadGroup.objects.filter(pk=group.pk).update(name=name)
    group.name = name
    return group, True


# --- Applying it ----------------------------------------------------------------------------


def _lead_create(delivery: webhooks.LeadPayload, email: str) -> _Applied:
    if not email:
        return _Applied(Outcome.SKIPPED, "No valid email address, so the lead could not sign in.")
    if _email_too_long(email):
        return _Applied(
            Outcome.SKIPPED,
            f"The email address is longer than the {_email_limit()} characters an account's "
            "sign-in name holds, so the lead could not sign in.",
        )
    if accounts.email_taken(email):
        # Looked up after the test above: what a simultaneous delivery committed in between is
        # then seen by both, not by one only.
        owner = accounts.user_for_email(email)
        if owner is not None:
            try:
                accounts.customer_link_check(user=owner)
            except accounts.StaffCustomerMixed:
                return _Applied(Outcome.CONFLICT, STAFF_EMAIL_REASON)
        other = (
            Customer.objects.filter(user=owner).values_list("lead_id", flat=True).first()
            if owner is not None
            else None
        )
        if other == delivery.lead_id:
            raise _Raced
        whose = f"the customer of lead {other}" if other else "an account not linked to a lead"
        return _Applied(
            Outcome.CONFLICT,
            f"The email address belongs to {whose}; a delivery never moves it. Nothing changed.",
        )
    first, last = _names(delivery)
    group, _renamed = _lead_group(delivery)
    user = accounts.user_create(email=email, first_name=first, last_name=last)
    customer = Customer.objects.create(
        user=user, lead_id=delivery.lead_id, lead_group=group, flg_status=_status(delivery)
    )
    return _Applied(Outcome.CREATED, customer=customer)


def _lead_update(
    customer: Customer, delivery: webhooks.LeadPayload, email: str
) -> tuple[_Applied, str]:
    """Apply the delivery to a known customer; also the old email address, when it changed."""
    user = customer.user
    try:
        accounts.customer_link_check(user=user)
    except accounts.StaffCustomerMixed:
        return _Applied(Outcome.CONFLICT, LINKED_TO_STAFF_REASON, customer=customer), ""
    old_email, reason = "", ""
    if email and email != user.email.lower() and _email_too_long(email):
        # The rest of the delivery (a status that stops booking, say) still applies.
        reason = (
            f"The new email address is longer than the {_email_limit()} characters an "
            "account's sign-in name holds, so the account keeps its address."
        )
        email = ""
    if email and email != user.email.lower():
        if accounts.email_taken(email, exclude_user_id=user.pk):
            return _Applied(
                Outcome.CONFLICT,
                "The new email address belongs to another account; a delivery never moves it. "
                "Nothing changed.",
                customer=customer,
            ), ""
        old_email = user.email
        accounts.user_set_email(user=user, email=email)
    changed = ["email"] if old_email else []
    first, last = _names(delivery)
    if first and first != user.first_name:
        user.first_name = first
        changed.append("first name")
    if last and last != user.last_name:
        user.last_name = last
        changed.append("last name")
    if changed:
        user.save(update_fields=["email", "username", "first_name", "last_name"])

    customer_fields = []
    group, renamed = _lead_group(delivery)
    if renamed:
        changed.append("lead group name")
    if group is not None and customer.lead_group_id != group.pk:
        customer.lead_group = group
        customer_fields.append("lead_group")
        changed.append("lead group")
    status = _status(delivery)
    if status and status != customer.flg_status:
        customer.flg_status = status
        customer_fields.append("flg_status")
        changed.append("status")
    if customer_fields:
        customer.save(update_fields=customer_fields)
    # An address refused with nothing else to apply is skipped, as for a new lead.
    outcome = Outcome.UPDATED if changed else Outcome.SKIPPED if reason else Outcome.UNCHANGED
    return _Applied(outcome, reason, changed=changed, customer=customer), old_email


def _lead_apply(delivery: webhooks.LeadPayload) -> tuple[_Applied, str]:
    email = _valid_email(delivery.email)
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("user", "lead_group")
        .filter(lead_id=delivery.lead_id)
        .first()
    )
    if customer is None:
        return _lead_create(delivery, email), ""
    if customer.erased_at is not None:
        return _Applied(Outcome.SKIPPED, ERASED_REASON), ""
    return _lead_update(customer, delivery, email)


def _invite(record: LeadDelivery, customer: Customer) -> None:
    # Once per lead, whatever happens to the customer record afterwards.
    already = LeadDelivery.objects.filter(lead_id=record.lead_id, invited=True).exists()
    if already:
        return
    # Queued once: the outbox retries a failed send, and staff see one that failed for good.
    invites.invite_send(user=customer.user)
    LeadDelivery.objects.filter(pk=record.pk).update(invited=True)
    record.invited = True


def lead_upsert(*, delivery: webhooks.LeadPayload, source: str | None = None) -> LeadDelivery:
    """Create or update the customer of the delivered lead, in one transaction, and record it.

    Returns the delivery's record: its outcome, and a reason when skipped or in conflict.
    """
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                applied, old_email = _lead_apply(delivery)
                record = LeadDelivery.objects.create(
                    lead_id=delivery.lead_id,
                    outcome=applied.outcome,
                    reason=applied.reason,
                    changed=", ".join(applied.changed),
                    customer=applied.customer,
                    source=source,
                )
            break
        except IntegrityError:  # _Raced too
            if attempt == ATTEMPTS - 1:
                raise
            logger.info(
                "Lead %s was written by a simultaneous delivery; reading it again",
                delivery.lead_id,
            )
    _log(record)
    metrics.webhook_deliveries.labels(str(record.outcome)).inc()
    customer = applied.customer
    if old_email and customer is not None:
        notices.email_changed_notice_send(user_id=customer.user_id, old_email=old_email)
    if (
        applied.outcome == Outcome.CREATED
        and customer is not None
        and settings.FLG_WEBHOOK_INVITE_NEW
    ):
        _invite(record, customer)
    return record


def _log(record: LeadDelivery) -> None:
    level = logging.WARNING if record.outcome == Outcome.CONFLICT else logging.INFO
    logger.log(
        level,
        "Lead delivery for lead %s: %s%s",
        record.lead_id,
        record.outcome,
        f" ({record.reason})" if record.reason else "",
        extra={
            "event": "lead_delivery",
            "outcome": record.outcome,
            "customer_id": record.customer_id,
        },
    )


def lead_deliveries_prune(*, days: int | None = None, now: dt.datetime | None = None) -> int:
    """Delete delivery records older than `days` (FLG_WEBHOOK_LOG_DAYS); how many went."""
    days = settings.FLG_WEBHOOK_LOG_DAYS if days is None else days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted, _ = LeadDelivery.objects.filter(created_at__lt=cutoff).delete()
    return deleted
