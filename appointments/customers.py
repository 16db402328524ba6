"""The one write path for a customer: the account they sign in with, and their record.

The admin form, FLG's lead webhook (appointments.leads) and the CSV import
(appointments.importing) keep customers by the same rules, kept here:

- an email address is kept as accounts.services.email_stored gives it (stripped, NFC, its
  letter case as typed, for display and mail) and compared, and signed in with, in its
  normalised form (accounts.services.email_normalise); no path folds it any other way;
- it is a valid address no longer than an account holds, and no other account uses it;
- a staff account is never a customer's (accounts.services.customer_link_check);
- a lead id is digits only (models.lead_id_validator), no longer than its column;
- names are stripped, and cut to what the account holds where the caller cannot ask again;
- every limit is read from the models' fields (CustomerLimits), never written down twice.

The import writes thousands of rows in bulk, so it checks each row with these functions and
writes with the same accounts.services helpers that customer_create uses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations

from accounts import services as accounts
from appointments.models import Customer, LeadGroup, lead_id_validator

EMAIL_INVALID = "email_invalid"
EMAIL_TOO_LONG = "email_too_long"
EMAIL_STAFF = "email_staff"
EMAIL_TAKEN = "email_taken"
LINKED_TO_STAFF = "linked_to_staff"
LEAD_ID_INVALID = "lead_id_invalid"
ERASED = "erased"


class Keep(enum.Enum):
    """customer_update's default for the lead group, where None clears it."""

    KEEP = "keep"


KEEP = Keep.KEEP


class CustomerRefused(Exception):
    """The portal will not store this customer; `code` names the rule, `message` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CustomerLimits:
    """The longest values a customer's account and record take, read from the models."""

    email: int
    first_name: int
    last_name: int
    lead_id: int
    flg_status: int
    group_name: int
    group_id: int

    @classmethod
    def of_models(cls) -> CustomerLimits:
        user: Any = get_user_model()._meta
        group_id = LeadGroup._meta.get_field("flg_id")
        return cls(
            # The account's user name is the email: the shorter of the two limits holds.
            email=min(_max_length(user, "email"), _max_length(user, "username")),
            first_name=_max_length(user, "first_name"),
            last_name=_max_length(user, "last_name"),
            lead_id=_max_length(Customer._meta, "lead_id"),
            flg_status=_max_length(Customer._meta, "flg_status"),
            group_name=_max_length(LeadGroup._meta, "name"),
            # The range every database gives the field (SQLite's own is wider).
            group_id=BaseDatabaseOperations.integer_field_ranges[group_id.get_internal_type()][1],
        )


def _max_length(meta: Any, name: str) -> int:
    return int(meta.get_field(name).max_length)


@dataclass(frozen=True)
class CustomerChange:
    """What customer_update changed, in words for staff; and the old address, when it moved."""

    changed: list[str] = field(default_factory=list)
    old_email: str = ""


# --- The rules, one value at a time (the import checks its rows with these) ------------------


def email_problem(email: str, *, limits: CustomerLimits) -> CustomerRefused | None:
    """What is wrong with the address itself, whoever else has it; None when nothing is."""
    stored = accounts.email_stored(email)
    if not stored:
        return CustomerRefused(EMAIL_INVALID, "email is empty")
    try:
        validate_email(stored)
    except ValidationError:
        return CustomerRefused(EMAIL_INVALID, f"{email!r} is not an email address")
    # Measured as stored: NFC may lengthen a non-ASCII domain.
    if max(len(stored), len(accounts.email_normalise(stored))) > limits.email:
        return CustomerRefused(
            EMAIL_TOO_LONG, f"the email is longer than {limits.email} characters"
        )
    return None


def lead_id_problem(lead_id: str, *, limits: CustomerLimits) -> str | None:
    """What is wrong with a lead id: empty, not digits, or longer than the column."""
    if not lead_id:
        return "lead_id is empty"
    try:
        lead_id_validator(lead_id)
    except ValidationError:
        return f"lead id {lead_id!r} must be digits only"
    if len(lead_id) > limits.lead_id:
        return f"the lead id is longer than {limits.lead_id} characters"
    return None


def account_problem(user: User) -> str | None:
    """Why this account may not be a customer's (it is staff); None when it may."""
    try:
        accounts.customer_link_check(user=user)
    except accounts.StaffCustomerMixed as refused:
        return str(refused)
    return None


def names_fit(first_name: str, last_name: str, *, limits: CustomerLimits) -> tuple[str, str]:
    """The names stripped and cut to what the account holds."""
    return first_name.strip()[: limits.first_name], last_name.strip()[: limits.last_name]


def email_check(*, email: str, user: User | None = None) -> str:
    """The address as the account keeps it, or CustomerRefused: invalid, too long, a staff
    account's, or another account's (`user` is the customer's own account, when they have one).
    """
    refused = email_problem(email, limits=CustomerLimits.of_models())
    if refused is not None:
        raise refused
    stored = accounts.email_stored(email)
    own = user.pk if user is not None else None
    owner = accounts.user_for_email(stored)
    if owner is not None and owner.pk != own:
        problem = account_problem(owner)
        if problem:
            raise CustomerRefused(EMAIL_STAFF, problem)
    if accounts.email_taken(stored, exclude_user_id=own):
        raise CustomerRefused(
            EMAIL_TAKEN, "Another account already uses this email address (letter case is ignored)."
        )
    return stored


def _lead_id_check(lead_id: str, limits: CustomerLimits) -> str:
    lead_id = lead_id.strip()
    problem = lead_id_problem(lead_id, limits=limits)
    if problem:
        raise CustomerRefused(LEAD_ID_INVALID, problem)
    return lead_id


# --- Writing ----------------------------------------------------------------------------------


@transaction.atomic
def customer_create(
    *,
    email: str,
    lead_id: str,
    first_name: str = "",
    last_name: str = "",
    lead_group: LeadGroup | None = None,
    flg_status: str = "",
    password: str | None = None,
    source: str = Customer.Source.NOT_RECORDED,
) -> Customer:
    """A new customer and the account they sign in with (no usable password without one);
    `source` says how they came in (Customer.Source), for staff.

    Raises CustomerRefused before writing anything when a rule says no.
    """
    limits = CustomerLimits.of_models()
    stored = email_check(email=email)
    lead_id = _lead_id_check(lead_id, limits)
    first_name, last_name = names_fit(first_name, last_name, limits=limits)
    user = accounts.user_create(
        email=stored, first_name=first_name, last_name=last_name, password=password
    )
    return Customer.objects.create(
        user=user,
        lead_id=lead_id,
        lead_group=lead_group,
        flg_status=flg_status.strip()[: limits.flg_status],
        source=source,
    )


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    lead_id: str | None = None,
    lead_group: LeadGroup | Keep | None = KEEP,
    flg_status: str | None = None,
    password: str | None = None,
) -> CustomerChange:
    """Change what is given (None, or KEEP for the lead group, leaves a value as it is).

    Raises CustomerRefused before writing anything when a rule says no: the record is linked
    to a staff account, or the new address is invalid, too long or another account's.
    """
    limits = CustomerLimits.of_models()
    user = customer.user
    problem = account_problem(user)
    if problem:
        raise CustomerRefused(LINKED_TO_STAFF, problem)
    if customer.erased_at is not None:
        # Erased (privacy.erasure): its row stays only as an anonymous record.
        raise CustomerRefused(ERASED, "This customer was erased; nothing of them is stored.")
    changed: list[str] = []
    old_email = ""
    user_fields: list[str] = []
    if email is not None:
        stored = email_check(email=email, user=user)
        if accounts.email_normalise(stored) != accounts.email_normalise(user.email):
            old_email = user.email
            changed.append("email")
        elif stored != user.email:
            changed.append("email")  # the same address, in the letter case staff typed
        accounts.user_set_email(user=user, email=stored)
        user_fields += ["email", "username"]
    if lead_id is not None:
        lead_id = _lead_id_check(lead_id, limits)
    first, last = names_fit(first_name or "", last_name or "", limits=limits)
    if first_name is not None and first != user.first_name:
        user.first_name = first
        user_fields.append("first_name")
        changed.append("first name")
    if last_name is not None and last != user.last_name:
        user.last_name = last
        user_fields.append("last_name")
        changed.append("last name")
    if password:
        user.set_password(password)
        user_fields.append("password")
        changed.append("password")
    if user_fields:
        user.save(update_fields=user_fields)

    fields = []
    if lead_id is not None and lead_id != customer.lead_id:
        customer.lead_id = lead_id
        fields.append("lead_id")
        changed.append("lead id")
    if not isinstance(lead_group, Keep) and customer.lead_group_id != (
        lead_group.pk if lead_group is not None else None
    ):
        customer.lead_group = lead_group
        fields.append("lead_group")
        changed.append("lead group")
    if flg_status is not None:
        status = flg_status.strip()[: limits.flg_status]
        if status != customer.flg_status:
            customer.flg_status = status
            fields.append("flg_status")
            changed.append("status")
    if fields:
        customer.save(update_fields=fields)
    return CustomerChange(changed=changed, old_email=old_email)
