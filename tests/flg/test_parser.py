"""FLG's 200 answer is read tolerantly, then validated strictly; nothing else escapes."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flg import errors, sessions

LEAD = "108123758"
TYPE = uuid.UUID("4da80d92-e6fb-432e-a631-aea2b1e97a05")
HOSTS = ["platform.getflg.com"]
NOW = dt.datetime(2020, 1, 5, 9, 25, tzinfo=dt.UTC)
URL = "https://platform.getflg.com/appointments/book/8c18a3004f44fb980310164faa6fd7e9"

# The published example, quirks and all: the key " publicUrl" has a leading space.
PUBLISHED = {
    "sessionId": "0260be7f-7c73-45ae-a1d0-2c7328151d38",
    "lead": LEAD,
    "appointmentType": str(TYPE),
    "closesAt": "2020-01-05T09:55:31.735Z",
    " publicUrl": URL,
}


def parse(answer: object) -> sessions.FlgSession:
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return sessions.parse_session(body, lead=LEAD, appointment_type=TYPE, hosts=HOSTS, now=NOW)


def published_with(**changes: object) -> dict[str, object]:
    """The published example with fields changed; a value of ... removes the field."""
    answer: dict[str, object] = dict(PUBLISHED)
    for name, value in changes.items():
        key = " publicUrl" if name == "publicUrl" else name
        if value is ...:
            answer.pop(key)
        else:
            answer[key] = value
    return answer


# --- Accepted --------------------------------------------------------------------------------


def test_it_accepts_the_published_example():
    assert parse(PUBLISHED) == sessions.FlgSession(
        session_id=uuid.UUID("0260be7f-7c73-45ae-a1d0-2c7328151d38"),
        lead=LEAD,
        appointment_type=TYPE,
        closes_at=dt.datetime(2020, 1, 5, 9, 55, 31, 735000, tzinfo=dt.UTC),
        public_url=URL,
    )


def test_it_accepts_public_url_without_the_leading_space():
    answer = published_with(publicUrl=...)
    answer["publicUrl"] = URL
    assert parse(answer).public_url == URL


def test_it_accepts_whitespace_around_any_key():
    answer = {f"\t{key.strip()}  ": value for key, value in PUBLISHED.items()}
    assert parse(answer).public_url == URL


def test_it_ignores_unknown_fields():
    session = parse(published_with(colour="blue", extra={"a": [1, None]}, status=200))
    assert session.public_url == URL


def test_it_accepts_the_lead_echoed_as_a_number():
    assert parse(published_with(lead=int(LEAD))).lead == LEAD


def test_it_accepts_the_type_echoed_in_capitals():
    assert parse(published_with(appointmentType=str(TYPE).upper())).appointment_type == TYPE


def utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2020-01-05T09:55:31Z", utc(2020, 1, 5, 9, 55, 31)),
        ("2020-01-05T09:55:31z", utc(2020, 1, 5, 9, 55, 31)),
        ("2020-01-05T10:55:31+01:00", utc(2020, 1, 5, 9, 55, 31)),
        ("2020-01-05T10:55:31+0100", utc(2020, 1, 5, 9, 55, 31)),
        ("2020-01-05T10:55:31+01", utc(2020, 1, 5, 9, 55, 31)),
        ("2020-01-05T04:55:31-0500", utc(2020, 1, 5, 9, 55, 31)),
        ("2020-01-05T04:55:31.5-05:00", utc(2020, 1, 5, 9, 55, 31, 500000)),
        ("2020-01-05T09:55:31,25Z", utc(2020, 1, 5, 9, 55, 31, 250000)),
        ("2020-01-05 09:55:31Z", utc(2020, 1, 5, 9, 55, 31)),
        (" 2020-01-05T09:55:31Z ", utc(2020, 1, 5, 9, 55, 31)),
    ],
)
def test_it_reads_closes_at_with_z_or_an_offset(raw, expected):
    closes_at = parse(published_with(closesAt=raw)).closes_at
    assert closes_at == expected
    assert closes_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("digits", range(1, 10))
def test_it_reads_closes_at_with_one_to_nine_fraction_digits(digits):
    fraction = "123456789"[:digits]
    closes_at = parse(published_with(closesAt=f"2020-01-05T09:55:31.{fraction}Z")).closes_at
    assert closes_at.microsecond == int(fraction.ljust(6, "0")[:6])


# --- Refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sessionId": "not-a-uuid"}, "sessionId"),
        ({"sessionId": "0260be7f-7c73-45ae-a1d0"}, "sessionId"),
        ({"sessionId": 12}, "sessionId"),
        ({"sessionId": None}, "sessionId"),
        ({"sessionId": ...}, "missing"),
        ({"lead": ...}, "missing"),
        ({"appointmentType": ...}, "missing"),
        ({"closesAt": ...}, "missing"),
        ({"publicUrl": ...}, "missing"),
    ],
)
def test_it_refuses_a_missing_or_malformed_session_id_or_field(changes, reason):
    with pytest.raises(errors.FlgProtocolError, match=reason):
        parse(published_with(**changes))


@pytest.mark.parametrize(
    "raw",
    [
        "2020-01-05T09:00:00Z",
        "2020-01-05T09:25:00Z",
        "2020-01-05T10:24:59+01:00",
        "2019-12-31T23:59:59.999Z",
    ],
)
def test_it_refuses_closes_at_in_the_past(raw):
    with pytest.raises(errors.FlgProtocolError, match="past"):
        parse(published_with(closesAt=raw))


@pytest.mark.parametrize(
    "raw",
    [
        "2020-01-05T09:55:31",
        "2020-01-05T09:55:31.735",
        "2020-01-05",
        "5 January 2020",
        "2020-01-05T09:55:31+24:00",
        "2020-01-05T09:55:31+01:60",
        "2020-01-05T09:55:31.1234567890Z",
        "2020-02-30T09:55:31Z",
        "2020-01-05T25:55:31Z",
        "٢٠٢٠-01-05T09:55:31Z",
        "2020-01-05T09:55:31Z\nX",
        "",
        1578218131,
        None,
        ["2020-01-05T09:55:31Z"],
    ],
)
def test_it_refuses_closes_at_without_a_zone_or_not_a_date(raw):
    with pytest.raises(errors.FlgProtocolError, match="time zone"):
        parse(published_with(closesAt=raw))


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/appointments/book/x",
        "https://platform.getflg.com.evil.example.com/x",
        "http://platform.getflg.com/appointments/book/x",
        "https://user@platform.getflg.com/x",
        "https://user:pass@platform.getflg.com/x",
        "https://platform.getflg.com\\@evil.example.com/x",
        "https://platform.getflg.com/x\\y",
        "https://platform.getflg.com/x\nSet-Cookie: a",
        "https://platform.getflg.com/x\x00",
        "https://platform.getflg.com/x\x7f",
        "https://platform.getflg.com:8443/x",
        "/appointments/book/x",
        "platform.getflg.com/appointments/book/x",
        "//platform.getflg.com/appointments/book/x",
        "javascript:alert(1)",
        "",
        42,
        None,
    ],
)
def test_it_refuses_a_public_url_that_may_not_be_framed(url):
    with pytest.raises(errors.FlgProtocolError, match="publicUrl"):
        parse(published_with(publicUrl=url))


@pytest.mark.parametrize(
    "changes",
    [
        {"lead": "108123759"},
        {"lead": 108123759},
        {"lead": "0108123758"},
        {"lead": True},
        {"lead": 108123758.0},
        {"lead": None},
    ],
)
def test_it_refuses_a_session_for_another_lead(changes):
    with pytest.raises(errors.FlgProtocolError, match="lead"):
        parse(published_with(**changes))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("39594a1c-72db-4990-a63f-8d5139a5e4e1", "another appointment type"),
        ("nope", "appointmentType"),
        (None, "appointmentType"),
    ],
)
def test_it_refuses_a_session_for_another_appointment_type(raw, reason):
    with pytest.raises(errors.FlgProtocolError, match=reason):
        parse(published_with(appointmentType=raw))


def test_it_refuses_the_same_key_twice_after_stripping():
    answer = published_with(publicUrl=...)
    answer[" publicUrl"] = URL
    answer["publicUrl "] = "https://platform.getflg.com/other"
    with pytest.raises(errors.FlgProtocolError, match="twice"):
        parse(answer)


def test_it_refuses_the_same_key_twice_exactly():
    # json.loads would quietly keep the last; an answer that says two things is not trusted.
    body = json.dumps(PUBLISHED)[:-1] + ', "lead": "108123759"}'
    with pytest.raises(errors.FlgProtocolError, match="twice"):
        parse(body.encode())


def test_it_accepts_repeated_keys_inside_an_ignored_field():
    body = json.dumps(PUBLISHED)[:-1] + ', "extra": {"a": 1, "a": 2}}'
    assert parse(body.encode()).public_url == URL


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{", b"\xff\xfe\x00", b"<html><body>Maintenance</body></html>"],
)
def test_it_refuses_a_body_that_is_not_json(body):
    with pytest.raises(errors.FlgProtocolError, match="not JSON"):
        parse(body)


@pytest.mark.parametrize("body", [b"[]", json.dumps([PUBLISHED]).encode(), b'"text"', b"null"])
def test_it_refuses_json_that_is_not_an_object(body):
    with pytest.raises(errors.FlgProtocolError, match="not a JSON object"):
        parse(body)


def test_its_error_quotes_a_short_excerpt_of_the_answer():
    with pytest.raises(errors.FlgProtocolError) as error:
        parse(b"<html>\n" + b"x" * 5000)
    assert error.value.status == 200
    assert "<html> x" in error.value.detail
    assert len(error.value.detail) < 400


# --- The one function that decides whether a URL may be framed ------------------------------

EMBED_HOSTS = ["platform.getflg.com", "127.0.0.1:8000"]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://platform.getflg.com/appointments/book/abc", True),
        ("https://platform.getflg.com/a?b=c#d", True),
        ("https://PLATFORM.getflg.com/a", True),
        ("HTTPS://platform.getflg.com/a", True),
        ("https://platform.getflg.com:443/a", True),
        ("http://127.0.0.1:8000/sandbox/appointments/book/abc", True),
        ("https://127.0.0.1:8000/x", True),
        ("http://127.0.0.1:8001/x", False),
        ("http://127.0.0.1/x", False),
        ("http://localhost:8000/x", False),
        ("http://platform.getflg.com/a", False),
        ("https://platform.getflg.com:444/a", False),
        ("https://platform.getflg.com:99999/a", False),
        ("https://a:b@platform.getflg.com/a", False),
        ("https://a@platform.getflg.com/a", False),
        ("https://platform.getflg.com\\@evil.example.com/", False),
        ("https://platform.getflg.com/a b", False),
        ("https://platform.getflg.com/a\\b", False),
        ("https://platform.getflg.com/\x00", False),
        ("https://platform.getflg.com/\t", False),
        ("https://platform.getflg.com/é", False),
        ("https://platform.getflg.com./a", False),
        ("ftp://platform.getflg.com/a", False),
        ("javascript://platform.getflg.com/%0aalert(1)", False),
        ("//platform.getflg.com/a", False),
        ("/appointments/book/abc", False),
        ("https:platform.getflg.com/a", False),
        ("https:///platform.getflg.com/a", False),
        ("https://getflg.com/a", False),
        ("https://xplatform.getflg.com/a", False),
        ("https://platform.getflg.com.evil.example.com/a", False),
        ("", False),
        (None, False),
        (42, False),
        ("https://platform.getflg.com/" + "a" * 5000, False),
    ],
)
def test_is_embeddable_url_allows_exactly_the_booking_hosts(url, ok):
    assert sessions.is_embeddable_url(url, hosts=EMBED_HOSTS) is ok


@pytest.mark.parametrize(
    ("url", "hosts", "ok"),
    [
        ("https://platform.getflg.com/a", ["platform.getflg.com:443"], True),
        ("https://platform.getflg.com/a", [" Platform.GetFLG.com "], True),
        ("http://[::1]:8000/a", ["[::1]:8000"], True),
        ("http://[::1]:8001/a", ["[::1]:8000"], False),
        ("https://platform.getflg.com/a", [], False),
        ("https://platform.getflg.com/a", ["platform.getflg.com:bad"], False),
    ],
)
def test_is_embeddable_url_reads_host_entries_with_or_without_a_port(url, hosts, ok):
    assert sessions.is_embeddable_url(url, hosts=hosts) is ok


# --- Properties: whatever FLG sends, only a session or the protocol error comes out ----------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["sessionId", "lead", "appointmentType", "closesAt", "publicUrl", " publicUrl", "x"]
)
plausible_values = st.sampled_from(
    [
        *PUBLISHED.values(),
        int(LEAD),
        "2020-01-05T09:55:31+01:00",
        "2020-01-05T09:55:31.123456789-0500",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "https://platform.getflg.com:0/x",
        "https://[::1]/x",
        str(uuid.uuid4()),
    ]
)


def session_or_protocol_error(body: bytes) -> None:
    try:
        result = parse(body)
    except errors.FlgProtocolError:
        return
    assert isinstance(result, sessions.FlgSession)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_session_or_the_protocol_error(body):
    session_or_protocol_error(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_gives_a_session_or_the_protocol_error(value):
    session_or_protocol_error(json.dumps(value).encode())


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(field_names, json_values | plausible_values))
def test_near_miss_answers_give_a_session_or_the_protocol_error(changes):
    session_or_protocol_error(json.dumps({**PUBLISHED, **changes}).encode())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(field_names, json_values | plausible_values, min_size=1))
def test_answers_built_from_the_valid_keys_give_a_session_or_the_protocol_error(answer):
    session_or_protocol_error(json.dumps(answer).encode())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([" ", "\t", "\n", "\r"]), max_size=3).map("".join))
def test_whitespace_around_keys_never_changes_the_session(padding):
    answer = {padding + key.strip() + padding: value for key, value in PUBLISHED.items()}
    assert parse(answer) == parse(PUBLISHED)
