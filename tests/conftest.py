"""The cast the tests share: two customers in two lead groups and the types around them."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model

from appointments.models import AppointmentType, Customer, LeadGroup

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Tests run with DEBUG off but without collectstatic; the manifest storage would refuse.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def homeowners(db):
    return LeadGroup.objects.create(flg_id=101, name="Homeowners")


@pytest.fixture
def landlords(db):
    return LeadGroup.objects.create(flg_id=102, name="Landlords")


def make_customer(email: str, lead_id: str, group: LeadGroup | None) -> Customer:
    user = get_user_model().objects.create_user(
        username=email.lower(), email=email, password=PASSWORD, first_name="Casey"
    )
    return Customer.objects.create(user=user, lead_id=lead_id, lead_group=group)


@pytest.fixture
def customer(homeowners):
    return make_customer("casey@example.com", "108123759", homeowners)


@pytest.fixture
def other_customer(landlords):
    return make_customer("lee@example.com", "108123760", landlords)


@pytest.fixture
def type_for_all(db):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("39594a1c-72db-4990-a63f-8d5139a5e4e1"),
        name="Initial consultation",
        description="A first call.",
        sort_order=0,
    )


@pytest.fixture
def type_for_homeowners(homeowners):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("4da80d92-e6fb-432e-a631-aea2b1e97a05"),
        name="Home survey",
        lead_group=homeowners,
        sort_order=10,
    )


@pytest.fixture
def type_for_landlords(landlords):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"),
        name="Portfolio review",
        lead_group=landlords,
        sort_order=20,
    )


@pytest.fixture
def inactive_type(db):
    return AppointmentType.objects.create(
        flg_id=uuid.UUID("c0ffee00-1234-4abc-8def-0123456789ab"),
        name="Winter check",
        is_active=False,
    )


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer.user)
    return client
