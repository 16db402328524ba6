"""FLG's 200 answer is read tolerantly, then validated strictly."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appointments import flg

LEAD = "108123758"
TYPE = uuid.UUID("4da80d92-e6fb-432e-a631-aea2b1e97a05")
HOSTS = ["platform.getflg.com"]
NOW = dt.datetime(2020, 1, 5, 9, 25, tzinfo=dt.UTC)
URL = "https://platform.getflg.com/appointments/book/8c18a3004f44fb980310164faa6fd7e9"

# The published example, quirks and all (the key " publicUrl" has a leading space).
PUBLISHED = {
    "sessionId": "0260be7f-7c73-45ae-a1d0-2c7328151d38",
    "lead": LEAD,
    "appointmentType": str(TYPE),
    "closesAt": "2020-01-05T09:55:31.735Z",
    " publicUrl": URL,
}


def parse(answer, **kw):
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return flg.parse_session(body, lead=LEAD, appointment_type=TYPE, hosts=HOSTS, now=NOW, **kw)


def with_(**changes):
    answer = dict(PUBLISHED)
    for key, value in changes.items():
        key = key.replace("_", " ") if key == "_publicUrl" else key
        if value is None:
            answer.pop(key, None)
        else:
            answer[key] = value
    return answer


def test_the_published_example_is_accepted():
    session = parse(PUBLISHED)
    assert session == flg.FlgSession(
        session_id=uuid.UUID("0260be7f-7c73-45ae-a1d0-2c7328151d38"),
        lead=LEAD,
        appointment_type=TYPE,
        closes_at=dt.datetime(2020, 1, 5, 9, 55, 31, 735000, tzinfo=dt.UTC),
        public_url=URL,
    )


def test_unknown_fields_are_ignored():
    assert parse(with_(colour="blue", extra={"a": 1})).public_url == URL


def test_a_lead_echoed_as_a_number_is_accepted():
    assert parse(with_(lead=int(LEAD))).lead == LEAD


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2020-01-05T09:55:31Z", dt.datetime(2020, 1, 5, 9, 55, 31, tzinfo=dt.UTC)),
        ("2020-01-05T09:55:31.7Z", dt.datetime(2020, 1, 5, 9, 55, 31, 700000, tzinfo=dt.UTC)),
        (
            "2020-01-05T09:55:31.123456789Z",
            dt.datetime(2020, 1, 5, 9, 55, 31, 123456, tzinfo=dt.UTC),
        ),
        ("2020-01-05T10:55:31+01:00", dt.datetime(2020, 1, 5, 9, 55, 31, tzinfo=dt.UTC)),
        ("2020-01-05T04:55:31.5-0500", dt.datetime(2020, 1, 5, 9, 55, 31, 500000, tzinfo=dt.UTC)),
    ],
)
def test_closes_at_takes_z_or_an_offset_with_or_without_fractions(raw, expected):
    assert parse(with_(closesAt=raw)).closes_at == expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sessionId": "not-a-uuid"}, "sessionId"),
        ({"sessionId": 12}, "sessionId"),
        ({"sessionId": None}, "missing"),
        ({"closesAt": "2020-01-05T09:00:00Z"}, "past"),
        ({"closesAt": "2020-01-05T09:55:31"}, "time zone"),
        ({"closesAt": "5 January 2020"}, "time zone"),
        ({"closesAt": 1578218131}, "time zone"),
        ({"lead": "108123759"}, "lead"),
        ({"lead": True}, "lead"),
        ({"appointmentType": str(uuid.uuid4())}, "another appointment type"),
        ({"appointmentType": "nope"}, "appointmentType"),
    ],
)
def test_a_field_that_fails_validation_is_a_protocol_error(changes, reason):
    with pytest.raises(flg.FlgProtocolError) as error:
        parse(with_(**changes))
    assert reason in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/appointments/book/x",
        "http://platform.getflg.com/appointments/book/x",
        "https://user@platform.getflg.com/x",
        "https://platform.getflg.com\\@evil.example.com/x",
        "https://platform.getflg.com:8443/x",
        "https://platform.getflg.com/x\nSet-Cookie: a",
        "/appointments/book/x",
        "javascript:alert(1)",
        "https://platform.getflg.com.evil.example.com/x",
        "",
    ],
)
def test_a_public_url_that_may_not_be_framed_is_a_protocol_error(url):
    answer = dict(PUBLISHED)
    answer[" publicUrl"] = url
    with pytest.raises(flg.FlgProtocolError, match="publicUrl"):
        parse(answer)


def test_the_same_key_twice_after_stripping_is_a_protocol_error():
    answer = dict(PUBLISHED)
    answer["publicUrl"] = "https://platform.getflg.com/other"
    with pytest.raises(flg.FlgProtocolError, match="twice"):
        parse(answer)


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_a_body_that_is_not_a_json_object_is_a_protocol_error(body):
    with pytest.raises(flg.FlgProtocolError):
        parse(body)


def test_the_error_quotes_a_short_excerpt_of_the_answer():
    with pytest.raises(flg.FlgProtocolError) as error:
        parse(b"<html>" + b"x" * 5000)
    assert "<html>" in error.value.detail
    assert len(error.value.detail) < 400


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://platform.getflg.com/appointments/book/abc", True),
        ("https://PLATFORM.getflg.com/a", True),
        ("https://platform.getflg.com:443/a", True),
        ("http://127.0.0.1:8000/sandbox/appointments/book/abc", True),
        ("https://127.0.0.1:8000/x", True),
        ("http://127.0.0.1:8001/x", False),
        ("http://127.0.0.1/x", False),
        ("http://platform.getflg.com/a", False),
        ("https://platform.getflg.com:444/a", False),
        ("https://a:b@platform.getflg.com/a", False),
        ("https://platform.getflg.com/a b", False),
        ("https://platform.getflg.com/a\\b", False),
        ("https://platform.getflg.com/\x00", False),
        ("https://platform.getflg.com/é", False),
        ("ftp://platform.getflg.com/a", False),
        ("//platform.getflg.com/a", False),
        ("https://getflg.com/a", False),
        ("https://xplatform.getflg.com/a", False),
        (None, False),
        (42, False),
        ("https://platform.getflg.com/" + "a" * 5000, False),
    ],
)
def test_is_embeddable_url_allows_exactly_the_booking_hosts(url, ok):
    assert flg.is_embeddable_url(url, hosts=["platform.getflg.com", "127.0.0.1:8000"]) is ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["sessionId", "lead", "appointmentType", "closesAt", "publicUrl", " publicUrl", "x"]
)


def only_protocol_errors(body: bytes) -> None:
    try:
        result = parse(body)
    except flg.FlgProtocolError:
        return
    assert isinstance(result, flg.FlgSession)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_the_protocol_error(body):
    only_protocol_errors(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_only_ever_raises_the_protocol_error(value):
    only_protocol_errors(json.dumps(value).encode())


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(field_names, json_values | st.sampled_from(list(PUBLISHED.values()))))
def test_near_miss_answers_only_ever_raise_the_protocol_error(answer):
    only_protocol_errors(json.dumps({**PUBLISHED, **answer}).encode())
