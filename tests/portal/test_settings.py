"""Settings come from the environment, secure by default, and fail with one clear line."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from bookingportal.settings import parse_flg_domain
from tests.processes import manage

NAMES = [
    "DEBUG",
    "ENGINE",
    "FLG_BASE_URL",
    "FLG_API_KEY",
    "FLG_BOOKING_HOSTS",
    "ALLOWED_HOSTS",
    "LANGUAGE_CODE",
    "TIME_ZONE",
    "USE_TZ",
    "PORTAL_NAME",
]
PRINT = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.FLG_BASE_URL, s.FLG_API_KEY, "
    "','.join(s.FLG_BOOKING_HOSTS), ','.join(s.ALLOWED_HOSTS), s.LANGUAGE_CODE, s.TIME_ZONE, "
    "s.USE_TZ, s.PORTAL_NAME, sep='|')"
)


def settings_from(**env: str) -> dict[str, str]:
    """The settings a fresh process builds from exactly this environment."""
    result = manage("shell", "-c", PRINT, **env)
    assert result.returncode == 0, result.stderr
    return dict(zip(NAMES, result.stdout.strip().splitlines()[-1].split("|"), strict=True))


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = manage("check")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0]
    assert "Traceback" not in result.stderr


def test_it_starts_without_a_secret_key_when_debugging():
    result = manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_set():
    assert settings_from(SECRET_KEY="x" * 50)["DEBUG"] == "False"


def test_it_defaults_to_sqlite_and_local_hosts_in_british_time():
    s = settings_from(DEBUG="1")
    assert s["ENGINE"] == "django.db.backends.sqlite3"
    assert s["ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    assert (s["LANGUAGE_CODE"], s["TIME_ZONE"], s["USE_TZ"]) == ("en-gb", "Europe/London", "True")


def test_database_url_switches_to_postgresql_without_code_changes():
    s = settings_from(DEBUG="1", DATABASE_URL="postgres://u@db.example:5432/portal")
    assert s["ENGINE"] == "django.db.backends.postgresql"


def test_the_sandbox_is_the_default_flg_when_switched_on():
    s = settings_from(DEBUG="1", FLG_SANDBOX="1")
    assert s["FLG_BASE_URL"] == "http://127.0.0.1:8000/sandbox"
    assert s["FLG_API_KEY"] == "sandbox-appointments-key"
    assert s["FLG_BOOKING_HOSTS"] == "127.0.0.1:8000"


def test_a_bare_flg_domain_becomes_an_https_base_with_flgs_booking_host():
    s = settings_from(DEBUG="1", FLG_DOMAIN="demo.flg360.co.uk")
    assert s["FLG_BASE_URL"] == "https://demo.flg360.co.uk"
    assert s["FLG_BOOKING_HOSTS"] == "platform.getflg.com"
    assert s["FLG_API_KEY"] == ""


def test_an_flg_domain_keeps_its_path_prefix():
    s = settings_from(DEBUG="1", FLG_DOMAIN="https://flg.example.com/tenant/")
    assert s["FLG_BASE_URL"] == "https://flg.example.com/tenant"


def test_it_reads_the_access_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("  from-a-file\n")
    s = settings_from(DEBUG="1", FLG_API_KEY="from-the-env", FLG_API_KEY_FILE=str(key_file))
    assert s["FLG_API_KEY"] == "from-a-file"


def test_it_reads_an_env_file_but_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=from-the-file\nPORTAL_NAME=From the file\nDEBUG=0\n")
    s = settings_from(ENV_FILE=str(env_file), DEBUG="1")
    assert s["DEBUG"] == "True"
    assert s["PORTAL_NAME"] == "From the file"


def test_mail_goes_through_the_smtp_server_the_environment_names():
    show = (
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, "
        "s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.EMAIL_TIMEOUT, s.DEFAULT_FROM_EMAIL, sep='|')"
    )
    result = manage(
        "shell",
        "-c",
        show,
        DEBUG="1",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="portal",
        EMAIL_HOST_PASSWORD="mail-secret",
        EMAIL_USE_TLS="1",
        DEFAULT_FROM_EMAIL="bookings@acme.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split("|") == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "portal",
        "mail-secret",
        "True",
        "10",
        "bookings@acme.example",
    ]


def test_mail_cannot_use_tls_and_ssl_at_once():
    result = manage("check", DEBUG="1", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both."
    )


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("FLG_TIMEOUT", "ten", "FLG_TIMEOUT must be a whole number"),
        ("FLG_TIMEOUT", "0", "FLG_TIMEOUT must be at least 1"),
        ("FLG_DOMAIN", "demo.flg360.co.uk:https", "is not a domain or a URL"),
        ("FLG_DOMAIN", "https://user:pw@flg.example.com", "is not a domain or a URL"),
        ("FLG_DOMAIN", "http://flg.example.com", "only https is allowed"),
        ("FLG_API_KEY_FILE", "/nonexistent/key", "cannot be read"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or plain"),
        ("EMAIL_PORT", "smtp", "EMAIL_PORT must be a whole number"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line(name, value, words):
    result = manage("check", **{"SECRET_KEY": "x" * 50, name: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("demo.flg360.co.uk", "https://demo.flg360.co.uk"),
        (" demo.flg360.co.uk/ ", "https://demo.flg360.co.uk"),
        ("https://demo.flg360.co.uk", "https://demo.flg360.co.uk"),
        ("HTTPS://Demo.FLG360.co.uk", "https://demo.flg360.co.uk"),
        ("https://flg.example.com/tenant/", "https://flg.example.com/tenant"),
        ("http://127.0.0.1:8000/sandbox/", "http://127.0.0.1:8000/sandbox"),
        ("http://localhost:9000/prefix/path", "http://localhost:9000/prefix/path"),
        ("http://[::1]:8000/sandbox", "http://[::1]:8000/sandbox"),
        ("https://flg.example.com:8443", "https://flg.example.com:8443"),
    ],
)
def test_flg_domain_accepts_a_bare_domain_or_a_base_url(raw, base):
    assert parse_flg_domain(raw) == base


@pytest.mark.parametrize(
    "raw",
    [
        "http://demo.flg360.co.uk",
        "http://10.0.0.5/sandbox",
        "ftp://demo.flg360.co.uk",
        "https://",
        "https://demo.flg360.co.uk/?q=1",
        "https://demo.flg360.co.uk/#top",
        "https://demo.flg360.co.uk:99999",
        "https://demo flg360.co.uk",
        "https://a@demo.flg360.co.uk",
        "https://demo.flg360.co.uk\\@evil.example",
    ],
)
def test_flg_domain_rejects_anything_else(raw):
    with pytest.raises(ImproperlyConfigured):
        parse_flg_domain(raw)


def test_the_sandbox_is_mounted_only_when_switched_on():
    code = (
        "from django.test import Client; "
        "print(Client().get('/sandbox/api/v2/appointment-sessions').status_code)"
    )
    on = manage("shell", "-c", code, DEBUG="1", FLG_SANDBOX="1", ALLOWED_HOSTS="testserver")
    off = manage(
        "shell",
        "-c",
        code,
        DEBUG="1",
        FLG_SANDBOX="0",
        FLG_DOMAIN="demo.flg360.co.uk",
        ALLOWED_HOSTS="testserver",
    )
    assert on.stdout.strip().splitlines()[-1] == "405", on.stderr
    assert off.stdout.strip().splitlines()[-1] == "404", off.stderr


GOOD_TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-new"


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("short-but-varied-0123456789", "at least 32 characters"),
        ("ab" * 20, "at least 8 different characters"),
        ("x" * 40, "at least 8 different characters"),
        (GOOD_TOKEN + "/slash", "letters, digits"),
        (GOOD_TOKEN + " space", "letters, digits"),
        (f"{GOOD_TOKEN},{GOOD_TOKEN}2,{GOOD_TOKEN}3", "holds 3 tokens"),
    ],
)
def test_a_weak_webhook_token_stops_start_up_with_one_line_saying_how_to_make_one(token, words):
    result = manage("check", SECRET_KEY="x" * 50, FLG_WEBHOOK_TOKEN=token)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "FLG_WEBHOOK_TOKEN" in lines[0] and words in lines[0]
    assert "secrets.token_urlsafe(32)" in lines[0]
    assert GOOD_TOKEN not in lines[0]
    assert "Traceback" not in result.stderr


def test_the_webhook_settings_are_read_from_the_environment():
    show = (
        "from django.conf import settings as s; "
        "print(s.FLG_WEBHOOK_TOKENS, s.FLG_WEBHOOK_NO_BOOKING_STATUSES, "
        "s.FLG_WEBHOOK_INVITE_NEW, s.FLG_WEBHOOK_LOG_DAYS, s.FLG_SANDBOX_WEBHOOK_URL, sep='|')"
    )
    result = manage(
        "shell",
        "-c",
        show,
        DEBUG="1",
        FLG_WEBHOOK_TOKEN=f" {GOOD_TOKEN} , {GOOD_TOKEN}-old ",
        FLG_WEBHOOK_NO_BOOKING_STATUSES="Dead, Closed ,",
        FLG_WEBHOOK_INVITE_NEW="yes",
        FLG_WEBHOOK_LOG_DAYS="90",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split("|") == [
        f"['{GOOD_TOKEN}', '{GOOD_TOKEN}-old']",
        "['Dead', 'Closed']",
        "True",
        "90",
        "",
    ]


def test_without_a_webhook_token_there_is_no_webhook_and_nothing_else_changes():
    show = (
        "from django.conf import settings as s; print(s.FLG_WEBHOOK_TOKENS, s.FLG_WEBHOOK_LOG_DAYS)"
    )
    result = manage("shell", "-c", show, DEBUG="1", FLG_SANDBOX="1")
    assert result.stdout.strip().splitlines()[-1] == "[] 30"
