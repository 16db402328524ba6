"""Model validation: what staff type in gets a clear message, and the database guards the rest."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.forms import StaffUserChangeForm, StaffUserCreationForm
from appointments.forms import AppointmentTypeAdminForm, CustomerAdminForm
from appointments.models import AppointmentType, Customer

pytestmark = pytest.mark.django_db


def type_form(**overrides):
    data = {
        "name": "Home survey",
        "description": "",
        "is_active": "on",
        "sort_order": "0",
        "flg_id": "39594a1c-72db-4990-a63f-8d5139a5e4e1",
        "lead_group": "",
        "slug": "",
    }
    data.update(overrides)
    return AppointmentTypeAdminForm(data=data)


def customer_form(**overrides):
    data = {"email": "new@example.com", "first_name": "N", "last_name": "Ew", "lead_id": "42"}
    data.update(overrides)
    return CustomerAdminForm(data=data)


def test_a_lead_id_of_digits_is_valid(customer):
    customer.lead_id = "108123759"
    customer.full_clean()


@pytest.mark.parametrize("lead_id", ["12a", " 12", "12\n", "-12", "1.5", "\uff11\uff12", "\u0661"])
def test_a_lead_id_must_be_digits_only(customer, lead_id):
    customer.lead_id = lead_id
    with pytest.raises(ValidationError) as error:
        customer.full_clean()
    assert "A lead id is digits only" in error.value.message_dict["lead_id"][0]


def test_an_empty_lead_id_is_refused(customer):
    customer.lead_id = ""
    with pytest.raises(ValidationError) as error:
        customer.full_clean()
    assert "lead_id" in error.value.message_dict


def test_the_database_refuses_an_empty_lead_id(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(lead_id="")


def test_a_type_id_is_stored_canonical_even_pasted_in_capitals_with_spaces():
    form = type_form(flg_id="  39594A1C-72DB-4990-A63F-8D5139A5E4E1 ")
    assert form.is_valid(), form.errors
    saved = form.save()
    saved.refresh_from_db()
    assert str(saved.flg_id) == "39594a1c-72db-4990-a63f-8d5139a5e4e1"


@pytest.mark.parametrize("bad", ["not-a-uuid", "39594a1c-72db-4990-a63f", "108123759"])
def test_a_type_id_that_is_not_a_uuid_gets_a_clear_message(bad):
    form = type_form(flg_id=bad)
    assert not form.is_valid()
    assert "Properties" in form.errors["flg_id"][0]


def test_a_slug_is_made_from_the_name_and_kept_unique():
    first = AppointmentType.objects.create(flg_id=uuid.uuid4(), name="Home survey")
    second = AppointmentType.objects.create(flg_id=uuid.uuid4(), name="Home Survey")
    third = AppointmentType.objects.create(flg_id=uuid.uuid4(), name="Home survey!")
    assert [first.slug, second.slug, third.slug] == [
        "home-survey",
        "home-survey-2",
        "home-survey-3",
    ]


def test_the_admin_form_derives_the_slug_when_left_empty(type_for_all):
    form = type_form(name=type_for_all.name, slug="", flg_id=str(uuid.uuid4()))
    assert form.is_valid(), form.errors
    assert form.save().slug == "initial-consultation-2"


def test_a_slug_chosen_twice_gets_a_clear_message(type_for_all):
    form = type_form(slug=type_for_all.slug, flg_id=str(uuid.uuid4()))
    assert not form.is_valid()
    assert "already uses this address" in form.errors["slug"][0]


def test_a_renamed_type_keeps_its_slug(type_for_all):
    type_for_all.name = "Renamed"
    type_for_all.save()
    assert type_for_all.slug == "initial-consultation"


def test_a_duplicate_type_id_gets_a_clear_message(type_for_all):
    form = type_form(flg_id=str(type_for_all.flg_id), name="Other")
    assert not form.is_valid()
    assert "already uses this FLG id" in form.errors["flg_id"][0]


def test_the_customer_form_creates_the_account_and_the_link(homeowners):
    form = customer_form(lead_group=str(homeowners.pk))
    assert form.is_valid(), form.errors
    customer = form.save()
    assert customer.user.email == "new@example.com"
    assert customer.user.username == "new@example.com"
    assert not customer.user.has_usable_password()


def test_one_customer_per_lead_id(customer):
    form = customer_form(lead_id=customer.lead_id)
    assert not form.is_valid()
    assert "already linked to this lead id" in form.errors["lead_id"][0]


def test_one_customer_per_user(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(user=customer.user, lead_id="999")


def test_an_email_in_another_case_is_a_duplicate(customer):
    form = customer_form(email="CASEY@Example.com")
    assert not form.is_valid()
    assert "letter case is ignored" in form.errors["email"][0]


def test_the_customer_form_refuses_an_email_another_account_signs_in_with(db):
    get_user_model().objects.create_user(username="new@example.com", email="")
    form = customer_form(email="New@Example.com")
    assert not form.is_valid()
    assert "already uses this email address" in form.errors["email"][0]


def test_the_customer_form_keeps_a_customers_own_email(customer):
    form = CustomerAdminForm(
        instance=customer,
        data={"email": "Casey@Example.com", "first_name": "Casey", "lead_id": customer.lead_id},
    )
    assert form.is_valid(), form.errors
    assert form.save().user.email == "Casey@Example.com"


def test_the_staff_user_form_refuses_an_email_in_another_case(customer):
    form = StaffUserCreationForm(
        data={
            "username": "someone",
            "email": "Casey@EXAMPLE.com",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        }
    )
    assert not form.is_valid()
    assert "email" in form.errors


def test_the_staff_user_change_form_refuses_an_email_in_another_case(customer, other_customer):
    user = other_customer.user
    form = StaffUserChangeForm(
        instance=user,
        data={
            "username": user.username,
            "email": "CASEY@Example.com",
            "date_joined": user.date_joined.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    assert not form.is_valid()
    assert "letter case is ignored" in form.errors["email"][0]


def test_two_accounts_may_both_have_no_email(db):
    get_user_model().objects.create_user(username="one")
    get_user_model().objects.create_user(username="two")


def test_the_database_refuses_an_email_in_another_case(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        get_user_model().objects.create_user(username="other", email="CASEY@example.com")


def test_bookable_types_are_active_and_for_all_or_the_customers_group(
    customer, type_for_all, type_for_homeowners, type_for_landlords, inactive_type
):
    bookable = list(AppointmentType.objects.bookable_by(customer))
    assert bookable == [type_for_all, type_for_homeowners]


def test_a_customer_without_a_group_sees_only_types_for_all(
    customer, type_for_all, type_for_homeowners
):
    customer.lead_group = None
    assert list(AppointmentType.objects.bookable_by(customer)) == [type_for_all]


def test_every_model_reads_well_as_text(customer, type_for_homeowners, homeowners):
    assert str(customer) == "casey@example.com (lead 108123759)"
    assert str(type_for_homeowners) == "Home survey"
    assert str(homeowners) == "Homeowners (101)"
