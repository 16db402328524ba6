"""bookingportal.env as plain functions: what each makes of a good value, and the one sentence
it stops start-up with for a bad one (settings.py and gunicorn.conf.py print that sentence)."""

from __future__ import annotations

import pytest

from bookingportal import env
from tests.helpers import refusal

GOOD_TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-new"
HOW = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


@pytest.mark.parametrize(
    ("raw", "default", "value"),
    [
        (None, True, True),
        ("  ", False, False),
        ("1", False, True),
        (" YES ", False, True),
        ("on", False, True),
        ("0", True, False),
        ("False", True, False),
        ("off", True, False),
    ],
)
def test_a_yes_or_no(setenv, raw, default, value):
    setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG", default) is value


def test_a_yes_or_no_refuses_anything_else(setenv):
    setenv("X_FLAG", "maybe")
    assert refusal(env.env_bool, "X_FLAG", False) == (
        "X_FLAG must be true or false (1/0, yes/no, on/off), not 'maybe'."
    )


def test_a_whole_number(setenv):
    setenv("X_COUNT", None)
    assert env.env_int("X_COUNT", 7) == 7
    setenv("X_COUNT", " 42 ")
    assert env.env_int("X_COUNT", 7, minimum=1) == 42
    setenv("X_COUNT", "0")
    assert env.env_int("X_COUNT", 7) == 0


def test_a_whole_number_refuses_words_and_too_small(setenv):
    setenv("X_COUNT", "ten")
    assert refusal(env.env_int, "X_COUNT", 7) == "X_COUNT must be a whole number, not 'ten'."
    setenv("X_COUNT", "0")
    assert refusal(env.env_int, "X_COUNT", 7, minimum=1) == "X_COUNT must be at least 1, not 0."


def test_a_url_is_quoted_without_its_password():
    assert env.redacted("postgres://u:secret@db:5432/p") == "postgres://u:***@db:5432/p"
    assert env.redacted("redis://cache:6379/0") == "redis://cache:6379/0"


def test_a_url_port_must_be_a_number():
    env.check_url_port("CACHE_URL", "redis://cache:6379/0")
    assert refusal(env.check_url_port, "CACHE_URL", "redis://:pw@cache:port/0") == (
        "CACHE_URL 'redis://:***@cache:port/0' has a port that is not a number."
    )


def test_a_database_url_becomes_a_databases_entry():
    config = env.parse_database_url("DATABASE_URL", " postgres://u:pw@db.example:5433/portal ")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "portal")
    sqlite = env.parse_database_url("DATABASE_URL", "sqlite:////tmp/portal.sqlite3")
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (
            "mysql://u:pw@db/portal",
            "DATABASE_URL must be postgres://user:password@host:5432/name or sqlite:///path, "
            "not 'mysql://u:***@db/portal'.",
        ),
        (
            "postgres://u:pw@db:5432/",
            "DATABASE_URL 'postgres://u:***@db:5432/' names no database; "
            "use postgres://user:password@host:5432/name.",
        ),
        (
            "postgres://u:pw@db:five/portal",
            "DATABASE_URL 'postgres://u:***@db:five/portal' has a port that is not a number.",
        ),
    ],
)
def test_a_bad_database_url_is_refused_without_its_password(raw, sentence):
    assert refusal(env.parse_database_url, "DATABASE_URL", raw) == sentence


def test_a_cache_url_becomes_a_caches_entry():
    config = env.parse_cache_url("CACHE_URL", "rediss://:pw@cache.example:6380/2")
    assert config["LOCATION"] == "rediss://:pw@cache.example:6380/2"
    assert "LocMemCache" in env.parse_cache_url("CACHE_URL", "locmemcache://")["BACKEND"]


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (
            "memcache://:pw@cache:11211",
            "CACHE_URL must be redis://host:6379/0 (or rediss:// for TLS; locmemcache:// for a "
            "single process), not 'memcache://:***@cache:11211'.",
        ),
        ("redis:///0", "CACHE_URL 'redis:///0' names no host; use redis://host:6379/0."),
    ],
)
def test_a_bad_cache_url_is_refused(raw, sentence):
    assert refusal(env.parse_cache_url, "CACHE_URL", raw) == sentence


def test_host_names(setenv):
    setenv("X_HOSTS", None)
    assert env.env_hosts("X_HOSTS", ["localhost"]) == ["localhost"]
    setenv("X_HOSTS", " book.example.com, .example.org ,")
    assert env.env_hosts("X_HOSTS", []) == ["book.example.com", ".example.org"]
    setenv("X_HOSTS", "book.example.com,https://book.example.com")
    assert refusal(env.env_hosts, "X_HOSTS", []) == (
        "X_HOSTS lists host names such as book.example.com, not 'https://book.example.com'."
    )


def test_origins(setenv):
    setenv("X_ORIGINS", None)
    assert env.env_origins("X_ORIGINS") == []
    setenv("X_ORIGINS", "https://book.example.com, http://127.0.0.1:8000/")
    assert env.env_origins("X_ORIGINS") == ["https://book.example.com", "http://127.0.0.1:8000/"]
    setenv("X_ORIGINS", "book.example.com")
    assert refusal(env.env_origins, "X_ORIGINS") == (
        "X_ORIGINS lists origins such as https://book.example.com, not 'book.example.com'."
    )


def test_an_email_address(setenv):
    setenv("X_FROM", None)
    assert env.env_email("X_FROM", "bookings@example.com") == "bookings@example.com"
    setenv("X_FROM", " Bookings <bookings@example.co.uk> ")
    assert env.env_email("X_FROM", "") == "Bookings <bookings@example.co.uk>"
    setenv("X_FROM", "bookings")
    assert refusal(env.env_email, "X_FROM", "") == (
        "X_FROM must be an email address (or Name <address>), not 'bookings'."
    )


@pytest.mark.parametrize("raw", ["no_such_module.EmailBackend", "EmailBackend", ".x"])
def test_a_dotted_class_must_name_a_module_that_exists(setenv, raw):
    setenv("X_BACKEND", None)
    default = "django.core.mail.backends.smtp.EmailBackend"
    assert env.env_dotted_class("X_BACKEND", default) == default
    setenv("X_BACKEND", raw)
    assert refusal(env.env_dotted_class, "X_BACKEND", default) == (
        "X_BACKEND must be the dotted path of a class, such as "
        f"django.core.mail.backends.smtp.EmailBackend, not {raw!r}."
    )


def test_the_flg_domain_becomes_a_base_url():
    assert env.parse_flg_domain(" demo.flg360.co.uk ") == "https://demo.flg360.co.uk"
    assert env.parse_flg_domain("http://127.0.0.1:9000/") == "http://127.0.0.1:9000"
    assert refusal(env.parse_flg_domain, "http://demo.flg360.co.uk") == (
        "FLG_DOMAIN 'http://demo.flg360.co.uk' uses plain http; "
        "only https is allowed except on loopback."
    )
    assert refusal(env.parse_flg_domain, "me@demo.flg360.co.uk") == (
        "FLG_DOMAIN 'me@demo.flg360.co.uk' is not a domain or a URL; use e.g. demo.flg360.co.uk."
    )


def test_trusted_proxies_become_networks():
    assert env.parse_trusted_proxies("") == []
    assert env.parse_trusted_proxies(" 10.0.0.5, 172.16.0.0/12,") == [
        "10.0.0.5/32",
        "172.16.0.0/12",
    ]
    assert refusal(env.parse_trusted_proxies, "10.0.0.5/8") == (
        "TRUSTED_PROXIES entry '10.0.0.5/8' is not an IP address or a CIDR range "
        "(e.g. 10.0.0.5 or 172.16.0.0/12, with no host bits set)."
    )


def test_webhook_tokens_none_one_or_two(setenv):
    setenv("X_TOKEN", None)
    assert env.env_webhook_tokens("X_TOKEN") == []
    setenv("X_TOKEN", f" {GOOD_TOKEN} , {GOOD_TOKEN}2 ")
    assert env.env_webhook_tokens("X_TOKEN") == [GOOD_TOKEN, GOOD_TOKEN + "2"]


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (
            f"{GOOD_TOKEN},{GOOD_TOKEN}2,{GOOD_TOKEN}3",
            f"X_TOKEN holds 3 tokens; give one, or two (new,old) during a change-over, and {HOW}",
        ),
        (
            "ab" * 20,
            f"X_TOKEN must be at least 32 characters of at least 8 different characters; {HOW}",
        ),
        (
            GOOD_TOKEN + "/slash",
            "X_TOKEN goes in a URL, so it may hold only letters, digits, '-', '_', '.' and "
            f"'~' (at most 200); {HOW}",
        ),
    ],
)
def test_a_weak_webhook_token_is_refused_without_quoting_it(setenv, raw, sentence):
    setenv("X_TOKEN", raw)
    assert refusal(env.env_webhook_tokens, "X_TOKEN") == sentence


@pytest.mark.parametrize(
    ("raw", "debug", "value"),
    [
        (None, False, "json"),
        ("", True, "plain"),
        (" JSON ", True, "json"),
        ("plain", False, "plain"),
    ],
)
def test_the_log_format_is_json_unless_debugging_or_told(setenv, raw, debug, value):
    setenv("X_FORMAT", raw)
    assert env.env_log_format("X_FORMAT", debug=debug) == value


def test_a_log_format_other_than_json_or_plain_is_refused(setenv):
    setenv("X_FORMAT", "XML")
    assert refusal(env.env_log_format, "X_FORMAT", debug=False) == (
        "X_FORMAT must be json or plain, not 'xml'."
    )
