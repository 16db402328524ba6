"""The demo data of `manage.py seed_demo`: the same lead ids, groups and type ids on both sides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.db import transaction

from accounts import services as accounts
from appointments.models import AppointmentType, Customer, LeadGroup

CUSTOMER_EMAIL = "customer@example.com"
CUSTOMER_PASSWORD = "bookings-demo"  # noqa: S105  (published demo sign-in)
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-demo"  # noqa: S105  (published demo sign-in)
# The sandbox's own keys, published in the code: the only keys it is ever given.
SANDBOX_KEY = "sandbox-appointments-key"
NO_APPOINTMENTS_KEY = "sandbox-no-appointments-key"

GROUPS = [(101, "Homeowners"), (102, "Landlords")]
# The status the demo leads have in the sandbox, as FLG would show it.
DEMO_STATUS = "Quoted"
# `make run` sets this FLG_WEBHOOK_TOKEN, so that the sandbox's leads reach the portal as FLG's
# webhook would send them. Published, like the demo passwords: never in production.
DEMO_WEBHOOK_TOKEN = "make-run-demo-webhook-token-0123456789abcdef"  # noqa: S105


@dataclass(frozen=True)
class DemoType:
    flg_id: uuid.UUID
    name: str
    description: str
    lead_group: int | None
    is_active: bool = True


TYPES = [
    DemoType(
        uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1"),
        "Initial consultation",
        "A 30-minute call to talk through what you need. Open to everyone.",
        None,
    ),
    DemoType(
        uuid.UUID("4da80d92-e6fb-432e-a631-aea2b1e97a05"),
        "Home survey",
        "A surveyor visits your home. Allow about an hour.",
        101,
    ),
    DemoType(
        uuid.UUID("8f1b7c2e-5d43-4a8e-9b61-0c2d3e4f5a6b"),
        "Annual boiler service",
        "An engineer services your boiler and issues the safety record.",
        101,
    ),
    DemoType(
        uuid.UUID("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"),
        "Portfolio review",
        "A review of your rental properties with an adviser.",
        102,
    ),
    DemoType(
        uuid.UUID("c0ffee00-1234-4abc-8def-0123456789ab"),
        "Winter check (no longer offered)",
        "Retired last season; kept to show an inactive type.",
        None,
        is_active=False,
    ),
]

# (email, password, first, last, lead id, group)
CUSTOMERS = [
    (CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "Casey", "Customer", "108123759", 101),
    ("landlord@example.com", CUSTOMER_PASSWORD, "Lee", "Landlord", "108123760", 102),
]


@transaction.atomic
def seed_demo(*, flg_api_key: str) -> bool:
    """Create or update the demo data, passwords and sign-in lockouts of the demo accounts
    included; running it twice changes nothing.

    False when the sandbox is installed and `flg_api_key` is not its own key: a configured key
    may be a real one, so it is never copied into the sandbox (which would then accept it).
    """
    groups = {}
    for flg_id, name in GROUPS:
        groups[flg_id], _ = LeadGroup.objects.update_or_create(
            flg_id=flg_id, defaults={"name": name}
        )
    for order, t in enumerate(TYPES):
        AppointmentType.objects.update_or_create(
            flg_id=t.flg_id,
            defaults={
                "name": t.name,
                "description": t.description,
                "lead_group": groups.get(t.lead_group) if t.lead_group else None,
                "is_active": t.is_active,
                "sort_order": order * 10,
            },
        )
    # Checked before any password is set: the published ones never reach the wrong account.
    _accounts_check()
    for email, password, first, last, lead_id, group in CUSTOMERS:
        user = _demo_user(email=email, password=password, first_name=first, last_name=last)
        Customer.objects.update_or_create(
            user=user,
            defaults={"lead_id": lead_id, "lead_group": groups[group], "flg_status": DEMO_STATUS},
            create_defaults={
                "lead_id": lead_id,
                "lead_group": groups[group],
                "flg_status": DEMO_STATUS,
                "source": Customer.Source.DEMO,
            },
        )
    admin = _demo_user(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    admin.is_staff = admin.is_superuser = True
    admin.save()

    if apps.is_installed("flg_sandbox"):
        _seed_sandbox()
        return flg_api_key in ("", SANDBOX_KEY)
    return True


def webhook_wiring() -> str:
    """One line on whether the sandbox's leads reach the portal through the lead webhook."""
    if not apps.is_installed("flg_sandbox"):
        return "Webhook:  the sandbox is off (FLG_SANDBOX), so no lead is pushed to the portal."
    if not settings.FLG_SANDBOX_WEBHOOK_URL:
        return (
            "Webhook:  off. Set FLG_WEBHOOK_TOKEN (make run does) so that a lead saved in the "
            "sandbox becomes a portal customer."
        )
    return (
        "Webhook:  a lead saved in the sandbox (admin > FLG 360 sandbox > Leads) is pushed to "
        f"{urlsplit(settings.FLG_SANDBOX_WEBHOOK_URL).netloc} as FLG 360 would; give it an "
        "email address and it becomes a portal customer."
    )


def sandbox_on() -> bool:
    """True in the demo: the sandbox (FLG_SANDBOX) is installed beside the portal."""
    return apps.is_installed("flg_sandbox")


def sandbox_type_add(*, appointment_type: AppointmentType) -> None:
    """Give the sandbox a type with this one's id, name and lead group, as staff would add it
    in FLG 360; only in the demo."""
    if not sandbox_on():
        raise RuntimeError("The FLG sandbox is not installed (FLG_SANDBOX is off).")
    from flg_sandbox import models as sandbox

    group = appointment_type.lead_group
    sandbox.AppointmentType.objects.update_or_create(
        id=appointment_type.flg_id,
        defaults={
            "name": appointment_type.name,
            "lead_group_id": group.flg_id if group is not None else None,
        },
    )


def _accounts_check() -> None:
    """Refuse (StaffCustomerMixed) a demo customer's address that is a staff account's, and
    the demo admin's address when it is a customer's: an account is never both."""
    for email, *_rest in CUSTOMERS:
        existing = accounts.user_for_email(email)
        if existing is not None:
            accounts.customer_link_check(user=existing)
    admin = accounts.user_for_email(ADMIN_EMAIL)
    if admin is not None:
        accounts.staff_grant_check(user=admin)


def _demo_user(*, email: str, password: str, first_name: str = "", last_name: str = "") -> Any:
    user = accounts.user_for_email(email)
    if user is None:
        user = accounts.user_create(
            email=email, first_name=first_name, last_name=last_name, password=password
        )
    else:
        accounts.user_set_email(user=user, email=email)
        user.first_name, user.last_name = first_name, last_name
        user.set_password(password)
        user.save()
    # The published password works again at once, even after someone tried the lockout.
    accounts.lockout_lift(user=user)
    return user


def _seed_sandbox() -> None:
    """The sandbox plays FLG 360 with the very same ids."""
    from flg_sandbox import models as sandbox

    for t in TYPES:
        sandbox.AppointmentType.objects.update_or_create(
            id=t.flg_id, defaults={"name": t.name, "lead_group_id": t.lead_group}
        )
    group_names = dict(GROUPS)
    for email, _pw, first, last, lead_id, group in CUSTOMERS:
        sandbox.Lead.objects.update_or_create(
            lead_id=lead_id,
            defaults={
                "lead_group_id": group,
                "lead_group_name": group_names[group],
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "email": email,
                "status": DEMO_STATUS,
            },
        )
    sandbox.AccessKey.objects.update_or_create(
        key=SANDBOX_KEY,
        defaults={"name": "Portal key (Appointments allowed)", "allow_appointments": True},
    )
    sandbox.AccessKey.objects.update_or_create(
        key=NO_APPOINTMENTS_KEY,
        defaults={"name": "Key without Appointments", "allow_appointments": False},
    )
    sandbox.Fault.objects.get_or_create(pk=1)
