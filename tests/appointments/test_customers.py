"""One write path for a customer: the same rules through the admin form, the webhook and the import.

Each rule of appointments.customers is tested on its own, then from all three paths: the same
address typed in any letter case is one customer, a staff account is never one, a lead id is
digits only, names fit the account.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from accounts.forms import EMAIL_TAKEN_MESSAGE
from appointments import customers, importing
from appointments.customers import CustomerLimits, CustomerRefused
from appointments.forms import CustomerAdminForm
from appointments.models import Customer, LeadDelivery, LeadGroup

HEADER = "email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"


def import_rows(*rows: str) -> importing.ImportResult:
    return importing.customers_import_apply(data=(HEADER + "".join(rows)).encode())


def import_errors(*rows: str) -> list[str]:
    with pytest.raises(importing.ImportRefused) as refused:
        import_rows(*rows)
    return [str(error) for error in refused.value.errors]


def admin_form(**changes: str) -> CustomerAdminForm:
    data = {"email": "new@example.com", "first_name": "Nia", "lead_id": "777", **changes}
    return CustomerAdminForm(data=data)


def staff_account() -> User:
    return get_user_model().objects.create_user(
        "ops@example.com", "ops@example.com", "pw", is_staff=True
    )


# --- The limits -------------------------------------------------------------------------------


def test_the_limits_are_the_models_own():
    user = get_user_model()._meta
    limits = CustomerLimits.of_models()
    assert limits.email == min(
        user.get_field("email").max_length, user.get_field("username").max_length
    )
    assert (limits.first_name, limits.last_name) == (
        user.get_field("first_name").max_length,
        user.get_field("last_name").max_length,
    )
    assert limits.lead_id == Customer._meta.get_field("lead_id").max_length
    assert limits.flg_status == Customer._meta.get_field("flg_status").max_length
    assert limits.group_name == LeadGroup._meta.get_field("name").max_length


# --- customer_create and customer_update ------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_is_created_with_the_address_as_typed_and_signs_in_with_its_normal_form(
    homeowners,
):
    customer = customers.customer_create(
        email="  Mia.Lee@Example.COM ",
        lead_id=" 555 ",
        first_name="  Mia ",
        last_name="L" * 400,
        lead_group=homeowners,
        flg_status="S" * 400,
    )
    user = customer.user
    assert (user.email, user.username) == ("Mia.Lee@Example.COM", "mia.lee@example.com")
    assert (user.first_name, len(user.last_name)) == ("Mia", 150)
    assert (customer.lead_id, customer.lead_group, len(customer.flg_status)) == (
        "555",
        homeowners,
        100,
    )
    assert not user.has_usable_password()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "lead_id", "code"),
    [
        ("", "555", customers.EMAIL_INVALID),
        ("not-an-address", "555", customers.EMAIL_INVALID),
        ("x" * 140 + "@example.com", "555", customers.EMAIL_TOO_LONG),
        ("CASEY@example.com", "555", customers.EMAIL_TAKEN),
        ("ops@example.com", "555", customers.EMAIL_STAFF),
        ("new@example.com", "55a", customers.LEAD_ID_INVALID),
        ("new@example.com", "", customers.LEAD_ID_INVALID),
    ],
)
def test_a_customer_the_rules_refuse_is_not_created_and_nothing_is_written(
    customer, email, lead_id, code
):
    staff_account()
    with pytest.raises(CustomerRefused) as refused:
        customers.customer_create(email=email, lead_id=lead_id)
    assert refused.value.code == code
    assert Customer.objects.count() == 1
    assert get_user_model().objects.count() == 2


@pytest.mark.django_db
def test_a_new_address_is_applied_and_the_old_one_given_back(customer, landlords):
    change = customers.customer_update(
        customer=customer, email="Casey.New@Example.com", lead_group=landlords
    )
    assert change.changed == ["email", "lead group"]
    assert change.old_email == "casey@example.com"
    customer.user.refresh_from_db()
    assert (customer.user.email, customer.user.username) == (
        "Casey.New@Example.com",
        "casey.new@example.com",
    )


@pytest.mark.django_db
def test_the_same_address_in_another_case_is_no_new_address(customer):
    change = customers.customer_update(customer=customer, email="CASEY@example.com")
    assert change.old_email == ""
    customer.user.refresh_from_db()
    assert customer.user.username == "casey@example.com"


@pytest.mark.django_db
def test_what_is_not_given_is_kept_and_none_clears_the_lead_group(customer, homeowners):
    assert customers.customer_update(customer=customer).changed == []
    assert customer.lead_group == homeowners
    change = customers.customer_update(customer=customer, lead_group=None, last_name="")
    assert change.changed == ["lead group"]
    customer.refresh_from_db()
    assert customer.lead_group is None


@pytest.mark.django_db
def test_a_record_linked_to_a_staff_account_is_not_updated(customer):
    get_user_model().objects.filter(pk=customer.user_id).update(is_staff=True)
    customer.user.refresh_from_db()
    with pytest.raises(CustomerRefused) as refused:
        customers.customer_update(customer=customer, first_name="Changed")
    assert refused.value.code == customers.LINKED_TO_STAFF
    customer.user.refresh_from_db()
    assert customer.user.first_name == "Casey"


@pytest.mark.django_db
def test_an_address_another_account_uses_is_never_moved(customer, other_customer):
    with pytest.raises(CustomerRefused) as refused:
        customers.customer_update(customer=customer, email="LEE@example.com")
    assert refused.value.code == customers.EMAIL_TAKEN
    customer.user.refresh_from_db()
    assert customer.user.email == "casey@example.com"


# --- The same rules from all three paths ------------------------------------------------------


@pytest.mark.parametrize("path", ["admin form", "webhook", "import"])
def test_every_path_keeps_the_address_as_typed_and_signs_in_with_its_normal_form(
    transactional_db, webhook, path
):
    if path == "admin form":
        form = admin_form(email="Mia.Lee@Example.COM")
        assert form.is_valid(), form.errors
        form.save()
    elif path == "webhook":
        assert webhook.post(email="Mia.Lee@Example.COM").json()["outcome"] == "created"
    else:
        import_rows("Mia.Lee@Example.COM,Mia,Lee,777,101,Homeowners\n")
    user = Customer.objects.select_related("user").get().user
    assert (user.email, user.username) == ("Mia.Lee@Example.COM", "mia.lee@example.com")


def test_an_address_imported_in_one_case_and_delivered_in_another_is_one_customer(
    transactional_db, webhook
):
    import_rows("Joe.Bloggs@EXAMPLE.com,Joe,Bloggs,123456789,101,Homeowners\n")
    answer = webhook.post(email="joe.bloggs@example.com", status="Quoted").json()
    assert answer["outcome"] == "updated"
    user = Customer.objects.select_related("user").get().user
    assert get_user_model().objects.count() == 1
    # The address staff imported stays as they typed it; no "your address changed" email.
    assert user.email == "Joe.Bloggs@EXAMPLE.com"
    # Another lead with that address, in yet another case, is a conflict, not a second account.
    other = webhook.post(id="987654321", email="JOE.BLOGGS@example.com").json()
    assert other["outcome"] == "conflict"
    assert get_user_model().objects.count() == 1


def test_an_address_delivered_in_one_case_and_imported_in_another_is_one_customer(
    transactional_db, webhook
):
    webhook.post(email="Joe.Bloggs@Example.com")
    result = import_rows("JOE.BLOGGS@example.COM,Joe,Newname,123456789,12345,\n")
    assert (len(result.created), result.updated) == (0, 1)
    user = Customer.objects.select_related("user").get().user
    assert (user.email, user.last_name) == ("Joe.Bloggs@Example.com", "Newname")
    # And the admin form refuses it for a new customer, in any case.
    form = admin_form(email="joe.bloggs@EXAMPLE.com")
    assert not form.is_valid()
    assert form.errors["email"] == [EMAIL_TAKEN_MESSAGE]


def test_no_path_makes_a_staff_account_a_customer(transactional_db, webhook, homeowners):
    staff_account()
    form = admin_form(email="OPS@example.com")
    assert not form.is_valid()
    assert "is a staff account, and a staff account is never a customer" in form.errors["email"][0]
    [error] = import_errors("Ops@Example.com,Op,S,777,101,\n")
    assert "is a staff account, and a staff account is never a customer" in error
    answer = webhook.post(email="ops@EXAMPLE.com").json()
    assert answer["outcome"] == "conflict"
    assert "a staff account is never a customer" in answer["reason"]
    assert not Customer.objects.exists()


def test_no_path_takes_a_lead_id_that_is_not_digits(transactional_db, webhook, homeowners):
    form = admin_form(lead_id="12a")
    assert not form.is_valid()
    assert "A lead id is digits only" in form.errors["lead_id"][0]
    [error] = import_errors("x@example.com,X,Y,12a,101,\n")
    assert "lead id '12a' must be digits only" in error
    assert webhook.post(id="12a").status_code == 400
    with pytest.raises(CustomerRefused):
        customers.customer_create(email="x@example.com", lead_id="12a")
    assert not Customer.objects.exists() and not LeadDelivery.objects.exists()


def test_names_fit_the_account_on_every_path(transactional_db, webhook, homeowners):
    # Where someone can correct it, a name too long is refused; FLG's is cut to fit.
    form = admin_form(first_name="F" * 151)
    assert not form.is_valid()
    assert "at most 150 characters" in form.errors["first_name"][0]
    [error] = import_errors("x@example.com," + "F" * 151 + ",Y,777,101,\n")
    assert "first_name is longer than 150 characters" in error
    webhook.post(firstname="  Joe  ", lastname="B" * 400)
    user = Customer.objects.select_related("user").get().user
    assert (user.first_name, len(user.last_name)) == ("Joe", 150)


def test_an_address_too_long_for_an_account_is_refused_on_every_path(
    transactional_db, webhook, homeowners
):
    email = "x" * 140 + "@example.com"
    form = admin_form(email=email)
    assert not form.is_valid()
    assert "at most 150 characters" in form.errors["email"][0]
    [error] = import_errors(f"{email},X,Y,777,101,\n")
    assert "the email is longer than 150 characters" in error
    answer = webhook.post(email=email).json()
    assert answer["outcome"] == "skipped"
    assert "longer than the 150 characters" in answer["reason"]
    assert not Customer.objects.exists()
