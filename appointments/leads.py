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
from urllib.parse import unquote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import invites, notices
from accounts import services as accounts
from appointments import customers, metrics
from appointments.models import Customer, LeadDelivery, LeadGroup
from flg import webhooks

logger = logging.getLogger("appointments.leads")

Outcome = LeadDelivery.Outcome
# A new lead delivered several times at once: all but one insert fail on the unique lead id or
# email and read again, when the winner's rows are there to be found.
ATTEMPTS = 3
# How the token shows where staff read about the webhook, as in the access log.
MASK = "[token]"
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


def _names(delivery: webhooks.LeadPayload) -> tuple[str, str]:
    first, last = delivery.first_name, delivery.last_name
    if not first and not last and delivery.full_name:
        first, _, last = delivery.full_name.partition(" ")
    return customers.names_fit(first, last, limits=customers.CustomerLimits.of_models())


def _lead_group(delivery: webhooks.LeadPayload) -> tuple[LeadGroup | None, bool]:
    """The delivery's lead group, found or created, renamed to FLG's name; and if renamed."""
    if delivery.lead_group_id is None:
        return None, False
    limit = customers.CustomerLimits.of_models().group_name
    name = delivery.lead_group_name[:limit]
    group, created = LeadGroup.objects.get_or_create(
        flg_id=delivery.lead_group_id,
        defaults={"name": name or f"Lead group {delivery.lead_group_id}"},
    )
    if created or not name or group.name == name:
        return group, False
    LeadGroup.objects.filter(pk=group.pk).update(name=name)
    group.name = name
    return group, True


def _too_long_reason(start: str, end: str) -> str:
    limit = customers.CustomerLimits.of_models().email
    return f"{start} is longer than the {limit} characters an account's sign-in name holds, {end}"


# --- Applying it: through appointments.customers, the one write path --------------------------


def _lead_create(delivery: webhooks.LeadPayload) -> _Applied:
    first, last = _names(delivery)
    try:
        # A savepoint: a lead group made for a delivery that is refused goes with it.
        with transaction.atomic():
            group, _renamed = _lead_group(delivery)
            customer = customers.customer_create(
                email=delivery.email,
                lead_id=delivery.lead_id,
                first_name=first,
                last_name=last,
                lead_group=group,
                flg_status=delivery.status,
                source=Customer.Source.WEBHOOK,
            )
    except customers.CustomerRefused as refused:
        return _create_refused(delivery, refused)
    return _Applied(Outcome.CREATED, customer=customer)


def _create_refused(delivery: webhooks.LeadPayload, refused: customers.CustomerRefused) -> _Applied:
    if refused.code == customers.EMAIL_INVALID:
        return _Applied(Outcome.SKIPPED, "No valid email address, so the lead could not sign in.")
    if refused.code == customers.EMAIL_TOO_LONG:
        return _Applied(
            Outcome.SKIPPED, _too_long_reason("The email address", "so the lead could not sign in.")
        )
    if refused.code == customers.EMAIL_STAFF:
        return _Applied(Outcome.CONFLICT, STAFF_EMAIL_REASON)
    # Taken: looked up after the address was found valid, so what a simultaneous delivery
    # committed in between is then seen by both, not by one only.
    owner = accounts.user_for_email(delivery.email)
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


def _lead_update(customer: Customer, delivery: webhooks.LeadPayload) -> tuple[_Applied, str]:
    """Apply the delivery to a known customer; also the old email address, when it changed."""
    user = customer.user
    email: str | None = accounts.email_stored(delivery.email)
    reason = ""
    limits = customers.CustomerLimits.of_models()
    problem = customers.email_problem(delivery.email, limits=limits)
    if problem is not None or accounts.email_normalise(delivery.email) == accounts.email_normalise(
        user.email
    ):
        # FLG's letter case never replaces the portal's; an address the portal cannot use
        # leaves the account's, and the rest of the delivery (a status that stops booking,
        # say) still applies.
        if problem is not None and problem.code == customers.EMAIL_TOO_LONG:
            reason = _too_long_reason("The new email address", "so the account keeps its address.")
        email = None
    first, last = _names(delivery)
    try:
        with transaction.atomic():
            group, renamed = _lead_group(delivery)
            change = customers.customer_update(
                customer=customer,
                email=email,
                first_name=first or None,
                last_name=last or None,
                lead_group=group if group is not None else customers.KEEP,
                flg_status=delivery.status or None,
            )
    except customers.CustomerRefused as refused:
        if refused.code == customers.LINKED_TO_STAFF:
            return _Applied(Outcome.CONFLICT, LINKED_TO_STAFF_REASON, customer=customer), ""
        return _Applied(
            Outcome.CONFLICT,
            "The new email address belongs to another account; a delivery never moves it. "
            "Nothing changed.",
            customer=customer,
        ), ""
    changed = change.changed
    if renamed:
        # Said before the group itself, as staff read the change.
        at = sum(1 for word in changed if word in ("email", "first name", "last name"))
        changed.insert(at, "lead group name")
    # An address refused with nothing else to apply is skipped, as for a new lead.
    outcome = Outcome.UPDATED if changed else Outcome.SKIPPED if reason else Outcome.UNCHANGED
    return _Applied(outcome, reason, changed=changed, customer=customer), change.old_email


def _lead_apply(delivery: webhooks.LeadPayload) -> tuple[_Applied, str]:
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("user", "lead_group")
        .filter(lead_id=delivery.lead_id)
        .first()
    )
    if customer is None:
        return _lead_create(delivery), ""
    if customer.erased_at is not None:
        return _Applied(Outcome.SKIPPED, ERASED_REASON), ""
    return _lead_update(customer, delivery)


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
