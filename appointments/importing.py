"""Onboarding customers from a CSV file: every row checked first, then all written or none.

Columns: email, first_name, last_name, lead_id, lead_group_id and, optionally,
lead_group_name (which creates the lead group when its id is new). Rows are matched to
existing customers by email, in any A-Z letter case (accounts.services.email_normalise); a
row whose email is a staff account's is refused, since a staff account is never a customer.

Each row is checked by the rules every customer path keeps (appointments.customers: the
address, the lead id, the limits read from the models' fields, staff never a customer); the
file itself is read by appointments.import_file. The work is set-based: the existing accounts,
customers and user names are fetched a few thousand at a time, and the writes are bulk, so a
file of 35,000 customers takes a few dozen queries rather than one or more per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts import bulk
from accounts import services as accounts
from appointments import customers, import_file
from appointments.customers import CustomerLimits as Limits
from appointments.import_file import MAX_BYTES as MAX_BYTES
from appointments.import_file import ImportRefused as ImportRefused
from appointments.import_file import RefusedRow
from appointments.import_file import RowError as RowError
from appointments.models import Customer, LeadGroup

# Rows written per INSERT or UPDATE statement.
BATCH = 1000
# Customer.lead_id is read in chunks of this many for the `__in` lookups.
CHUNK = accounts.CHUNK


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
    user: Any = None  # the existing account, for an update
    key: str = ""  # the email as sign-in compares it

    def __post_init__(self) -> None:
        self.key = accounts.email_normalise(self.email)


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_groups: dict[int, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    values: dict[int, list[str]] = field(default_factory=dict)  # each row's, by line

    @property
    def refused(self) -> list[RefusedRow]:
        return [RefusedRow(e.line, self.values.get(e.line, []), e.message) for e in self.errors]

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
    refused: list[RefusedRow] = field(default_factory=list)  # left out of a partial import


# --- Checking one row -------------------------------------------------------------------------


def _too_long(label: str, value: str, limit: int) -> str | None:
    return f"{label} is longer than {limit} characters" if len(value) > limit else None


def _value_problems(row: dict[str, str], limits: Limits) -> list[str]:
    """What is wrong with the row's own values, by the rules every customer path keeps."""
    email_refused = customers.email_problem(row.get("email", ""), limits=limits)
    problems = [
        email_refused.message if email_refused else None,
        customers.lead_id_problem(row.get("lead_id", ""), limits=limits),
        # A file can be corrected and sent again: its names are refused, never cut.
        _too_long("first_name", row.get("first_name", ""), limits.first_name),
        _too_long("last_name", row.get("last_name", ""), limits.last_name),
        _too_long("lead_group_name", row.get("lead_group_name", ""), limits.group_name),
    ]
    return [problem for problem in problems if problem]


@dataclass
class _Seen:
    """What the rows before this one said: lead groups, emails and lead ids, by line."""

    known_groups: dict[int, str]
    group_lines: dict[int, int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)
    leads: dict[str, int] = field(default_factory=dict)


def _group(
    row: dict[str, str], line: int, plan: ImportPlan, seen: _Seen, limits: Limits
) -> tuple[int | None, list[str]]:
    """The row's lead group id, noting a new group in the plan; or what is wrong with it."""
    raw, name = row.get("lead_group_id", ""), row.get("lead_group_name", "")
    group_id = int(raw) if raw.isascii() and raw.isdigit() else None
    if group_id is None or group_id > limits.group_id:
        if raw:
            return None, [f"lead group id {raw!r} must be a whole number"]
        return None, ["lead_group_id is empty"]
    if group_id in plan.new_groups:
        if name and name != plan.new_groups[group_id]:
            return group_id, [
                f"lead group {group_id} is named {plan.new_groups[group_id]!r} on line "
                f"{seen.group_lines[group_id]}"
            ]
    elif group_id not in seen.known_groups:
        if not name:
            return group_id, [
                f"lead group {group_id} does not exist; add it in the admin first, or give "
                "its name in a lead_group_name column to create it"
            ]
        plan.new_groups[group_id] = name
        seen.group_lines[group_id] = line
    return group_id, []


def _repeat_problems(email: str, lead_id: str, line: int, seen: _Seen) -> list[str]:
    """An email or lead id that an earlier row of the file already has."""
    problems = []
    key = accounts.email_normalise(email)
    if key and key in seen.emails:
        problems.append(f"{email} is also on line {seen.emails[key]}")
    if lead_id and lead_id in seen.leads:
        problems.append(f"lead id {lead_id} is also on line {seen.leads[lead_id]}")
    seen.emails.setdefault(key, line)
    seen.leads.setdefault(lead_id, line)
    return problems


def _row_check(
    header: list[str], line: int, values: list[str], plan: ImportPlan, seen: _Seen, limits: Limits
) -> PlannedRow | RowError:
    row = dict(zip(header, (v.strip() for v in values), strict=False))
    problems = []
    if any(v.strip() for v in values[len(header) :]):
        problems.append(
            f"{len(values)} values but {len(header)} columns (a comma inside a value needs "
            "the value in double quotes)"
        )
    problems += _value_problems(row, limits)
    group_id, group_problems = _group(row, line, plan, seen, limits)
    problems += group_problems
    problems += _repeat_problems(row.get("email", ""), row.get("lead_id", ""), line, seen)
    if problems:
        return RowError(line, "; ".join(problems))
    return PlannedRow(
        line=line,
        email=row.get("email", ""),
        first_name=row.get("first_name", ""),
        last_name=row.get("last_name", ""),
        lead_id=row.get("lead_id", ""),
        lead_group_id=group_id or 0,
        lead_group_name=row.get("lead_group_name", ""),
    )


# --- Matching the rows with what exists -------------------------------------------------------


@dataclass(frozen=True)
class _Existing:
    """The accounts, customers and user names the file's rows meet, fetched set-wise."""

    users: dict[str, Any]  # by normalised email
    customers_by_user: dict[int, Customer]  # with only the fields the import compares
    group_pks: dict[int, int]  # existing lead groups: FLG id -> primary key
    taken_names: set[str]  # user names of accounts other than those matched by email
    lead_owners: dict[str, str]  # lead id -> its customer's email

    @classmethod
    def for_rows(cls, rows: list[PlannedRow]) -> _Existing:
        users = accounts.users_by_email(row.email for row in rows)
        user_ids = [user.pk for user in users.values()]
        customers_by_user: dict[int, Customer] = {}
        for start in range(0, len(user_ids), CHUNK):
            customers_by_user.update(
                (customer.user_id, customer)
                for customer in Customer.objects.filter(user__in=user_ids[start : start + CHUNK])
                .only("user_id", "lead_id", "lead_group_id")
                .order_by()
            )
        # New accounts are named by their email; another account may already have that name.
        taken_names = accounts.usernames_taken(row.key for row in rows if row.key not in users)
        lead_ids = sorted({row.lead_id for row in rows})
        lead_owners: dict[str, str] = {}
        for start in range(0, len(lead_ids), CHUNK):
            lead_owners.update(
                Customer.objects.filter(lead_id__in=lead_ids[start : start + CHUNK])
                .order_by()
                .values_list("lead_id", "user__email")
            )
        group_pks = dict(LeadGroup.objects.values_list("flg_id", "pk"))
        return cls(users, customers_by_user, group_pks, taken_names, lead_owners)


def _row_action(row: PlannedRow, existing: _Existing) -> RowError | None:
    """Decide what the row does (row.action), or why it cannot be imported."""
    owner = existing.lead_owners.get(row.lead_id)
    if owner is not None and accounts.email_normalise(owner) != row.key:
        return RowError(row.line, f"lead id {row.lead_id} is already linked to {owner}")
    user = existing.users.get(row.key)
    if user is None and row.key in existing.taken_names:
        return RowError(
            row.line,
            f"another account already has the user name {row.key}; change that account in "
            "the admin first",
        )
    if user is not None:
        problem = customers.account_problem(user)
        if problem:
            return RowError(row.line, problem)
    customer = existing.customers_by_user.get(user.pk) if user is not None else None
    row.user, row.customer = user, customer
    if user is None or customer is None:
        row.action = "create" if user is None else "update"
        return None
    same = (
        user.first_name == row.first_name
        and user.last_name == row.last_name
        and customer.lead_id == row.lead_id
        and customer.lead_group_id is not None
        and customer.lead_group_id == existing.group_pks.get(row.lead_group_id)
    )
    row.action = "unchanged" if same else "update"
    return None


def _match_existing(plan: ImportPlan) -> None:
    existing = _Existing.for_rows(plan.rows)
    matched = []
    for row in plan.rows:
        error = _row_action(row, existing)
        if error is None:
            matched.append(row)
        else:
            plan.errors.append(error)
    plan.rows = matched


def customers_import_plan(*, data: bytes, partial: bool = False) -> ImportPlan:
    """Check every row of the file and say what importing it would do; writes nothing.

    Any bad row refuses the file (ImportRefused), unless `partial`: then the plan keeps the
    good rows and lists the bad ones in plan.errors (a file without a good row is refused).
    """
    reader = import_file.csv_reader(import_file.text_decode(data))
    header = import_file.header_read(reader)
    plan = ImportPlan(header=header)
    limits = Limits.of_models()
    seen = _Seen(known_groups=dict(LeadGroup.objects.values_list("flg_id", "name")))
    for line, values in import_file.records_read(reader, plan.errors):
        plan.values[line] = values
        checked = _row_check(header, line, values, plan, seen, limits)
        if isinstance(checked, RowError):
            plan.errors.append(checked)
        else:
            plan.rows.append(checked)
    if not plan.rows and not plan.errors:
        raise ImportRefused([RowError(0, "The file has a header line but no customers.")])
    _match_existing(plan)
    plan.errors.sort(key=lambda e: e.line)
    if plan.errors and not (partial and plan.rows):
        raise ImportRefused(plan.errors)
    # Only the lead groups a row that stays names are created.
    used = {row.lead_group_id for row in plan.rows}
    plan.new_groups = {gid: name for gid, name in plan.new_groups.items() if gid in used}
    return plan


# --- Writing ----------------------------------------------------------------------------------


def customers_import_apply(*, data: bytes, partial: bool = False) -> ImportResult:
    """Import the file: all rows or, when any row is bad, none (raises ImportRefused); with
    `partial`, the good rows, and the bad ones listed in result.refused."""
    try:
        with transaction.atomic():
            plan = customers_import_plan(data=data, partial=partial)
            return _apply(plan)
    except IntegrityError:
        # The plan was checked a moment ago; the database's own rules (the unique lead id and
        # the unique lower-cased email) caught what changed since, or what only they can see.
        raise ImportRefused(
            [
                RowError(
                    0,
                    "The database refused the import: an account or lead id in the file is "
                    "already in use (perhaps added while the file was being imported). "
                    "Upload it again to see which rows.",
                )
            ]
        ) from None


def _apply(plan: ImportPlan) -> ImportResult:
    groups = {g.flg_id: g for g in LeadGroup.objects.all()}
    for group in LeadGroup.objects.bulk_create(
        LeadGroup(flg_id=flg_id, name=name) for flg_id, name in plan.new_groups.items()
    ):
        groups[group.flg_id] = group
    new_rows = [row for row in plan.rows if row.action == "create"]
    changed = [row for row in plan.rows if row.action == "update"]
    # New customers choose their own password, from an invite or "forgotten password".
    new_users = accounts.users_create_bulk(
        [
            accounts.NewAccount(email=row.email, first_name=row.first_name, last_name=row.last_name)
            for row in new_rows
        ],
        batch_size=BATCH,
    )
    for row, user in zip(new_rows, new_users, strict=True):
        row.user = user
    _accounts_update(changed)
    created = bulk.rows_insert(
        [
            Customer(
                user=row.user,
                lead_id=row.lead_id,
                lead_group=groups[row.lead_group_id],
                source=Customer.Source.IMPORT,
            )
            for row in new_rows
        ],
        key="user",
        batch_size=BATCH,
    )
    # Accounts that had no customer record get one; the others are changed in place.
    Customer.objects.bulk_create(
        [
            Customer(
                user=row.user,
                lead_id=row.lead_id,
                lead_group=groups[row.lead_group_id],
                source=Customer.Source.IMPORT,
            )
            for row in changed
            if row.customer is None
        ],
        batch_size=BATCH,
    )
    customers = [row.customer for row in changed if row.customer is not None]
    for row in changed:
        if row.customer is not None:
            row.customer.lead_id, row.customer.lead_group = row.lead_id, groups[row.lead_group_id]
    Customer.objects.bulk_update(customers, ["lead_id", "lead_group"], batch_size=BATCH)
    return ImportResult(
        created=created,
        updated=len(changed),
        unchanged=plan.count("unchanged"),
        groups_created=len(plan.new_groups),
        refused=plan.refused,
    )


def _accounts_update(rows: list[PlannedRow]) -> None:
    users = []
    for row in rows:
        row.user.first_name, row.user.last_name = row.first_name, row.last_name
        users.append(row.user)
    get_user_model()._default_manager.bulk_update(
        users, ["first_name", "last_name"], batch_size=BATCH
    )
