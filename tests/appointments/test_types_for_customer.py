"""Home's list of types, from bookable_by's query compiled once per process: the same types, in
the same order, for every customer, as the ORM gives."""

from __future__ import annotations

import pytest

from appointments import offered
from appointments.models import AppointmentType
from tests.conftest import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def types(type_for_all, type_for_homeowners, type_for_landlords):
    AppointmentType.objects.create(flg_id="a1" * 16, name="Retired", is_active=False)
    AppointmentType.objects.create(
        flg_id="b2" * 16, name="Unknown at FLG", flg_check=AppointmentType.FlgCheck.UNKNOWN
    )
    AppointmentType.objects.create(flg_id="c3" * 16, name="Another for all", sort_order=0)


def names(customer):
    return [t.name for t in offered.appointment_types_for_customer(customer=customer)]


def test_each_customer_gets_what_the_orm_gives(types, customer, other_customer):
    no_group = make_customer("robin@example.com", "108123761", None)
    for who in (customer, other_customer, no_group, customer):
        expected = [t.name for t in AppointmentType.objects.bookable_by(who)]
        assert names(who) == expected
    assert names(customer) == ["Another for all", "Initial consultation", "Home survey"]
    assert names(no_group) == ["Another for all", "Initial consultation"]


def test_a_customer_who_may_not_book_gets_none(types, customer, settings):
    settings.FLG_WEBHOOK_NO_BOOKING_STATUSES = ["Do not contact"]
    customer.flg_status = "do not contact"
    assert names(customer) == []


def test_a_type_by_slug_only_when_the_customer_may_book_it(types, customer, other_customer):
    survey = AppointmentType.objects.get(name="Home survey")
    found = offered.appointment_type_for_customer(customer=customer, slug=survey.slug)
    assert found == survey
    assert found.name == "Home survey"
    assert offered.appointment_type_for_customer(customer=other_customer, slug=survey.slug) is None
    unknown = AppointmentType.objects.get(name="Unknown at FLG")
    assert offered.appointment_type_for_customer(customer=customer, slug=unknown.slug) is None
    assert offered.appointment_type_for_customer(customer=customer, slug="no-such-type") is None
