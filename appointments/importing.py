"""Onboarding customers from a CSV file: every row checked first, then all written or none.

Columns: email, first_name, last_name, lead_id, lead_group_id and, optionally,
lead_group_name (which creates the lead group when its id is new). Rows are matched to
existing customers by email, whatever its letter case.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from appointments.models import Customer, LeadGroup

if TYPE_CHECKING:
    from _csv import Reader  # the type of csv.reader()

REQUIRED_COLUMNS = ["email", "first_name", "last_name", "lead_id", "lead_group_id"]
OPTIONAL_COLUMNS = ["lead_group_name"]
MAX_BYTES = 2 * 1024 * 1024
# LeadGroup.flg_id is a PositiveIntegerField: at most this on every database.
MAX_GROUP_ID = 2_147_483_647


class ImportRefused(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the file; nothing was imported.")
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass
class PlannedRow:
    line: int
    email: str
    first_name: str
    last_name: str
    lead_id: str
    lead_group_id: int
    lead_group_name: str
    action: str = "create"  # create, update or unchanged
    customer: Customer | None = None


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_groups: dict[int, str] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def summary(self) -> str:
        return (
            f"{self.count('create')} to create, {self.count('update')} to update, "
            f"{self.count('unchanged')} unchanged"
        )


@dataclass(frozen=True)
class ImportResult:
    created: list[Customer]
    updated: int
    unchanged: int
    groups_created: int


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            [
                RowError(
                    0,
                    "The file is not UTF-8 text. In Excel choose Save As > "
                    "'CSV UTF-8 (Comma delimited)' and try again.",
                )
            ]
        ) from None


def _reader(text: str) -> Reader:
    first_line = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _header(names: list[str]) -> list[str]:
    header = [_column(name) for name in names]
    named = [c for c in header if c]
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise ImportRefused([RowError(1, f"the column(s) {', '.join(twice)} appear twice")])
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportRefused(
            [
                RowError(
                    1,
                    f"missing column(s): {', '.join(missing)}. The first line must name the "
                    f"columns {', '.join(REQUIRED_COLUMNS)} (and optionally lead_group_name).",
                )
            ]
        )
    return header


def _too_long(label: str, value: str, limit: int) -> str | None:
    return f"{label} is longer than {limit} characters" if len(value) > limit else None


def customers_import_plan(*, data: bytes) -> ImportPlan:
    """Check every row of the file and say what importing it would do; writes nothing."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([RowError(0, f"The file is over {MAX_BYTES // 1024 // 1024} MB.")])
    reader = _reader(_decode(data))
    plan = ImportPlan()
    try:
        header = _header(next(reader))
    except StopIteration:
        raise ImportRefused([RowError(0, "The file is empty.")]) from None
    except csv.Error as exc:
        raise ImportRefused([RowError(1, f"the line cannot be read as CSV ({exc})")]) from None

    known_groups = dict(LeadGroup.objects.values_list("flg_id", "name"))
    group_lines: dict[int, int] = {}
    seen_emails: dict[str, int] = {}
    seen_leads: dict[str, int] = {}
    end = reader.line_num
    while True:
        # A quoted value may span lines: a row is reported by the line it starts on.
        line = end + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            plan.errors.append(RowError(line, f"the line cannot be read as CSV ({exc})"))
            break
        end = reader.line_num
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(header, (v.strip() for v in values), strict=False))
        problems = []
        if any(v.strip() for v in values[len(header) :]):
            problems.append(
                f"{len(values)} values but {len(header)} columns (a comma inside a value needs "
                "the value in double quotes)"
            )
        email = row.get("email", "")
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"{email!r} is not an email address" if email else "email is empty")
        lead_id = row.get("lead_id", "")
        if not lead_id.isascii() or not lead_id.isdigit():
            problems.append(
                f"lead id {lead_id!r} must be digits only" if lead_id else "lead_id is empty"
            )
        first_name, last_name = row.get("first_name", ""), row.get("last_name", "")
        group_name = row.get("lead_group_name", "")
        problems += filter(
            None,
            [
                # The account's user name is the email, and user names stop at 150.
                _too_long("the email", email, 150),
                _too_long("the lead id", lead_id, 20),
                _too_long("first_name", first_name, 150),
                _too_long("last_name", last_name, 150),
                _too_long("lead_group_name", group_name, 200),
            ],
        )
        raw_group = row.get("lead_group_id", "")
        group_id = int(raw_group) if raw_group.isascii() and raw_group.isdigit() else None
        if group_id is None or group_id > MAX_GROUP_ID:
            problems.append(
                f"lead group id {raw_group!r} must be a whole number"
                if raw_group
                else "lead_group_id is empty"
            )
            group_id = None
        elif group_id in plan.new_groups:
            if group_name and group_name != plan.new_groups[group_id]:
                problems.append(
                    f"lead group {group_id} is named {plan.new_groups[group_id]!r} on line "
                    f"{group_lines[group_id]}"
                )
        elif group_id not in known_groups:
            if group_name:
                plan.new_groups[group_id] = group_name
                group_lines[group_id] = line
            else:
                problems.append(
                    f"lead group {group_id} does not exist; add it in the admin first, or give "
                    "its name in a lead_group_name column to create it"
                )
        key = email.lower()
        if key and key in seen_emails:
            problems.append(f"{email} is also on line {seen_emails[key]}")
        if lead_id and lead_id in seen_leads:
            problems.append(f"lead id {lead_id} is also on line {seen_leads[lead_id]}")
        seen_emails.setdefault(key, line)
        seen_leads.setdefault(lead_id, line)
        if problems:
            plan.errors.append(RowError(line, "; ".join(problems)))
            continue
        plan.rows.append(
            PlannedRow(
                line=line,
                email=email,
                first_name=first_name,
                last_name=last_name,
                lead_id=lead_id,
                lead_group_id=group_id or 0,
                lead_group_name=group_name,
            )
        )
    if not plan.rows and not plan.errors:
        raise ImportRefused([RowError(0, "The file has a header line but no customers.")])
    _match_existing(plan)
    if plan.errors:
        plan.errors.sort(key=lambda e: e.line)
        raise ImportRefused(plan.errors)
    return plan


def _match_existing(plan: ImportPlan) -> None:
    User = get_user_model()
    users = {
        u.email.lower(): u
        for u in User._default_manager.filter(email__in=[r.email for r in plan.rows])
    }
    # email__in is case-sensitive; find the rest case-insensitively, one query per odd case.
    for row in plan.rows:
        if row.email.lower() not in users:
            found = User._default_manager.filter(email__iexact=row.email).first()
            if found is not None:
                users[row.email.lower()] = found
    customers_by_user = {
        c.user_id: c
        for c in Customer.objects.select_related("lead_group").filter(
            user__in=[u.pk for u in users.values()]
        )
    }
    # New accounts are named by their email; another account may already have that name.
    taken_names = set(
        User._default_manager.filter(
            username__in=[r.email.lower() for r in plan.rows if r.email.lower() not in users]
        ).values_list("username", flat=True)
    )
    lead_owners = dict(
        Customer.objects.filter(lead_id__in=[r.lead_id for r in plan.rows]).values_list(
            "lead_id", "user__email"
        )
    )
    for row in plan.rows:
        user = users.get(row.email.lower())
        owner = lead_owners.get(row.lead_id)
        if owner is not None and owner.lower() != row.email.lower():
            plan.errors.append(
                RowError(row.line, f"lead id {row.lead_id} is already linked to {owner}")
            )
            continue
        if user is None and row.email.lower() in taken_names:
            plan.errors.append(
                RowError(
                    row.line,
                    f"another account already has the user name {row.email.lower()}; change "
                    "that account in the admin first",
                )
            )
            continue
        customer = customers_by_user.get(user.pk) if user else None
        row.customer = customer
        if user is None or customer is None:
            row.action = "create" if user is None else "update"
            continue
        same = (
            user.first_name == row.first_name
            and user.last_name == row.last_name
            and customer.lead_id == row.lead_id
            and customer.lead_group is not None
            and customer.lead_group.flg_id == row.lead_group_id
        )
        row.action = "unchanged" if same else "update"


@transaction.atomic
def customers_import_apply(*, data: bytes) -> ImportResult:
    """Import the file: all rows or, when any row is bad, none (raises ImportRefused)."""
    plan = customers_import_plan(data=data)
    User = get_user_model()
    groups = {g.flg_id: g for g in LeadGroup.objects.all()}
    for flg_id, name in plan.new_groups.items():
        groups[flg_id] = LeadGroup.objects.create(flg_id=flg_id, name=name)
    created: list[Customer] = []
    updated = 0
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        user = User._default_manager.filter(email__iexact=row.email).first()
        is_new = user is None
        if user is None:
            # New customers choose their own password, from an invite or "forgotten password".
            user = User(username=row.email.lower(), email=row.email)
            user.set_unusable_password()
        user.first_name, user.last_name = row.first_name, row.last_name
        user.save()
        customer, _ = Customer.objects.update_or_create(
            user=user,
            defaults={"lead_id": row.lead_id, "lead_group": groups[row.lead_group_id]},
        )
        if is_new:
            created.append(customer)
        else:
            updated += 1
    return ImportResult(
        created=created,
        updated=updated,
        unchanged=plan.count("unchanged"),
        groups_created=len(plan.new_groups),
    )
