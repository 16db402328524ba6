"""Seed the benchmark's database: `python bench/seed.py base N`, `... scale CUSTOMERS SESSIONS`,
or `... burst N` (N more customers, already signed in: prints their session keys as JSON).

Runs with the same environment as the servers (bench/workspace.py sets DATABASE_URL and the rest).
Customers are bench-<n>@example.com with one known password, hashed once and shared, since
hashing thousands of them would take longer than the benchmark itself. The sandbox gets the
same leads, the "consultation" type and the access key, so every start is one FLG 360 accepts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookingportal.settings")

import django

django.setup()

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from appointments.models import AppointmentSession, AppointmentType, Customer, LeadGroup
from flg_sandbox import models as sandbox

PASSWORD = "bench-password-1"
KEY = os.environ.get("FLG_API_KEY", "bench-key")
TYPE_ID = uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1")
GROUP = 101
BATCH = 2000


def seed_base(customers: int) -> None:
    group = LeadGroup.objects.create(flg_id=GROUP, name="Bench group")
    AppointmentType.objects.create(flg_id=TYPE_ID, name="Consultation", slug="consultation")
    for n in range(4):
        AppointmentType.objects.create(
            flg_id=uuid.uuid4(), name=f"Other type {n}", lead_group=group if n % 2 else None
        )
    add_customers(range(customers), group)
    sandbox.AccessKey.objects.create(key=KEY, name="bench", allow_appointments=True)
    sandbox.AppointmentType.objects.create(id=TYPE_ID, name="Consultation", lead_group_id=None)
    sandbox.Fault.objects.update_or_create(pk=1, defaults={"latency_ms": 200, "mode": "none"})


def add_customers(numbers: range, group: LeadGroup) -> None:
    User = get_user_model()
    hashed = make_password(PASSWORD)
    for start in range(numbers.start, numbers.stop, BATCH):
        chunk = range(start, min(start + BATCH, numbers.stop))
        users = User.objects.bulk_create(
            User(username=f"bench-{n}@example.com", email=f"bench-{n}@example.com", password=hashed)
            for n in chunk
        )
        Customer.objects.bulk_create(
            Customer(user=user, lead_id=str(500000 + n), lead_group=group)
            for user, n in zip(users, chunk, strict=True)
        )
        sandbox.Lead.objects.bulk_create(
            sandbox.Lead(lead_id=str(500000 + n), lead_group_id=GROUP) for n in chunk
        )


def seed_scale(customers: int, sessions: int) -> None:
    group = LeadGroup.objects.get(flg_id=GROUP)
    existing = Customer.objects.count()
    add_customers(range(existing, existing + customers), group)
    types = list(AppointmentType.objects.all())
    customer_ids = list(Customer.objects.values_list("pk", "lead_id"))
    long_ago = timezone.now() - dt.timedelta(days=30)
    made = 0
    while made < sessions:
        batch = min(BATCH * 5, sessions - made)
        AppointmentSession.objects.bulk_create(
            AppointmentSession(
                flg_session_id=uuid.uuid4(),
                customer_id=customer_ids[(made + i) % len(customer_ids)][0],
                appointment_type=types[(made + i) % len(types)],
                lead_id=customer_ids[(made + i) % len(customer_ids)][1],
                public_url="https://platform.getflg.com/appointments/book/old",
                closes_at=long_ago + dt.timedelta(minutes=30),
                created_at=long_ago - dt.timedelta(seconds=made + i),
            )
            for i in range(batch)
        )
        made += batch
    # Statistics for the planner, as a database that grew to this size would have them; without
    # them the first minutes after a bulk load measure autovacuum rather than the portal.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def seed_burst(customers: int) -> list[str]:
    """N new customers, each with a signed-in session made here, so that a burst of them
    costs no password hashing at the portal (sign-in is not what the burst measures)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    group = LeadGroup.objects.get(flg_id=GROUP)
    existing = Customer.objects.count()
    add_customers(range(existing, existing + customers), group)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for customer in Customer.objects.select_related("user").order_by("-pk")[:customers]:
        session = store()
        session[SESSION_KEY] = str(customer.user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.EmailBackend"
        session[HASH_SESSION_KEY] = customer.user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


if __name__ == "__main__":
    if sys.argv[1] == "base":
        seed_base(int(sys.argv[2]))
    elif sys.argv[1] == "burst":
        print(json.dumps(seed_burst(int(sys.argv[2]))))
    else:
        seed_scale(int(sys.argv[2]), int(sys.argv[3]))
