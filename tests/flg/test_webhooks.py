"""FLG's lead delivery is read from its form body into a typed value; anything else is refused."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flg import webhooks

# A lead as FLG's webhook sends it: every documented field, FLG's own sample values.
FLG_LEAD = {
    "id": "123456789",
    "title": "Mr.",
    "firstname": "Joe",
    "lastname": "Bloggs",
    "fullname": "Joe Bloggs",
    "address": "1 High Street",
    "address2": "Flat 2",
    "address3": "",
    "towncity": "Manchester",
    "postcode": "M1 1AA",
    "email": "joe.bloggs@example.com",
    "phone1": "0161 496 0000",
    "phone2": "",
    "fax": "",
    "dob": "1980-02-29",
    "dobday": "29",
    "dobmonth": "02",
    "dobyear": "1980",
    "company": "Bloggs Ltd",
    "jobtitle": "Director",
    "leadgroupid": "12345",
    "leadgroupname": "Mortgages",
    "leadtype": "General",
    "siteid": "1",
    "sitename": "Head office",
    "status": "Quoted",
    "userid": "42",
    "username": "Sam Adviser",
    "progress": "Qualified",
    "source": "Google",
    "medium": "cpc",
    "term": "mortgage advice",
}


def parse(fields: dict[str, str] | list[tuple[str, str]]) -> webhooks.LeadPayload:
    return webhooks.payload_parse(urlencode(fields).encode())


def test_it_reads_flgs_documented_lead_into_the_fields_the_portal_keeps():
    assert parse(FLG_LEAD) == webhooks.LeadPayload(
        lead_id="123456789",
        email="joe.bloggs@example.com",
        first_name="Joe",
        last_name="Bloggs",
        full_name="Joe Bloggs",
        lead_group_id=12345,
        lead_group_name="Mortgages",
        status="Quoted",
        lead_type="General",
    )


def test_the_documented_fields_are_the_ones_the_lead_carries():
    assert set(FLG_LEAD) | {"address1"} == set(webhooks.DOCUMENTED_FIELDS)


def test_it_keeps_no_address_phone_or_date_of_birth():
    kept = " ".join(str(value) for value in vars(parse(FLG_LEAD)).values())
    for private in ["High Street", "M1 1AA", "0161", "1980", "Director", "Bloggs Ltd"]:
        assert private not in kept


def test_the_delivery_cannot_be_changed_once_read():
    delivery = parse({"id": "1"})
    with pytest.raises(AttributeError):
        delivery.email = "someone.else@example.com"


def test_only_the_id_is_required_and_empty_fields_count_as_absent():
    delivery = parse({"id": "77", "email": "", "firstname": " ", "leadgroupid": "", "status": ""})
    assert delivery == webhooks.LeadPayload(lead_id="77")


def test_unknown_fields_are_ignored():
    assert parse({"id": "77", "favouritecolour": "blue", "custom_12": "x"}).lead_id == "77"


def test_field_names_are_read_in_any_letter_case_and_values_are_trimmed():
    delivery = parse({"ID": " 77 ", "Email": " joe@example.com ", "FirstName": "  Joe  Ann "})
    assert (delivery.lead_id, delivery.email, delivery.first_name) == (
        "77",
        "joe@example.com",
        "Joe Ann",
    )


def test_a_repeated_field_counts_once_the_last_time():
    assert parse([("id", "1"), ("status", "Quoted"), ("status", "Won")]).status == "Won"


def test_control_characters_never_reach_the_portal():
    delivery = parse({"id": "1", "firstname": "Jo\x00e\r\nBloggs", "status": "\x07Won"})
    assert (delivery.first_name, delivery.status) == ("Jo e Bloggs", "Won")


def test_it_reads_the_charset_the_sender_declares():
    body = b"id=1&lastname=M%FCller"
    assert webhooks.payload_parse(body, charset="iso-8859-1").last_name == "Müller"
    assert webhooks.payload_parse(body, charset="no-such-charset").last_name == "M\ufffdller"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "missing_id"),
        ({"id": ""}, "missing_id"),
        ({"email": "joe@example.com"}, "missing_id"),
        ({"id": "12a"}, "invalid_id"),
        ({"id": "-12"}, "invalid_id"),
        ({"id": "1 2"}, "invalid_id"),
        ({"id": "١٢٣"}, "invalid_id"),
        ({"id": "1" * 21}, "invalid_id"),
        ({"id": "1", "leadgroupid": "Mortgages"}, "invalid_lead_group"),
        ({"id": "1", "leadgroupid": "0"}, "invalid_lead_group"),
        ({"id": "1", "leadgroupid": "2147483648"}, "invalid_lead_group"),
        ({"id": "1", "leadgroupid": "9" * 5000}, "invalid_lead_group"),
    ],
)
def test_a_delivery_that_cannot_be_a_lead_is_refused_with_a_reason(fields, code):
    with pytest.raises(webhooks.DeliveryInvalid) as refused:
        parse(fields)
    assert refused.value.code == code
    assert refused.value.message


def test_a_lead_id_as_long_as_a_lead_id_may_be_is_accepted():
    assert parse({"id": "9" * 20}).lead_id == "9" * 20


def test_a_body_of_too_many_fields_is_refused():
    with pytest.raises(webhooks.DeliveryInvalid) as refused:
        webhooks.payload_parse(b"&".join([b"id=1"] + [b"x=1"] * webhooks.MAX_FIELDS))
    assert refused.value.code == "malformed"


@pytest.mark.parametrize(
    ("content_type", "is_form"),
    [
        ("application/x-www-form-urlencoded", True),
        ("Application/X-WWW-Form-URLEncoded; charset=UTF-8", True),
        ("application/json", False),
        ("multipart/form-data; boundary=x", False),
        ("text/plain", False),
        ("", False),
    ],
)
def test_only_flgs_content_type_is_a_form(content_type, is_form):
    assert webhooks.is_form(content_type) is is_form


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_body_is_read_or_refused_never_anything_else(body):
    try:
        delivery = webhooks.payload_parse(body)
    except webhooks.DeliveryInvalid as refused:
        assert refused.code in {"missing_id", "invalid_id", "invalid_lead_group", "malformed"}
    else:
        assert delivery.lead_id.isdigit() and len(delivery.lead_id) <= 20
