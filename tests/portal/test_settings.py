"""Settings come from the environment, secure by default, and fail with one clear line.

The settings are read here, in this process, from exactly the environment a test gives
(tests.helpers.settings_from); a few tests start the real thing, `manage.py` or gunicorn, to
prove a bad value stops it with that one line and no traceback.
"""

from __future__ import annotations

import subprocess

import pytest
from django.core.exceptions import ImproperlyConfigured

from bookingportal.env import parse_flg_domain
from tests.helpers import gunicorn_config_from, settings_from
from tests.processes import BIN, ROOT, clean_env, manage


def refusal(**env: str) -> str:
    """The one line the settings stop start-up with, for this environment."""
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_from(**env)
    message = str(refused.value)
    assert "\n" not in message
    return message


@pytest.mark.subprocess
def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = manage("check")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ")
    assert "SECRET_KEY" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.subprocess
def test_it_starts_without_a_secret_key_when_debugging():
    result = manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_set():
    assert settings_from(SECRET_KEY="x" * 50)["DEBUG"] is False


def test_it_defaults_to_sqlite_and_local_hosts_in_british_time():
    s = settings_from(DEBUG="1")
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1"]
    assert (s["LANGUAGE_CODE"], s["TIME_ZONE"], s["USE_TZ"]) == ("en-gb", "Europe/London", True)


def test_database_url_switches_to_postgresql_without_code_changes():
    s = settings_from(DEBUG="1", DATABASE_URL="postgres://u@db.example:5432/portal")
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_the_sandbox_is_the_default_flg_when_switched_on():
    s = settings_from(DEBUG="1", FLG_SANDBOX="1")
    assert s["FLG_BASE_URL"] == "http://127.0.0.1:8000/sandbox"
    assert s["FLG_API_KEY"] == "sandbox-appointments-key"
    assert s["FLG_BOOKING_HOSTS"] == ["127.0.0.1:8000"]


def test_a_bare_flg_domain_becomes_an_https_base_with_flgs_booking_host():
    s = settings_from(DEBUG="1", FLG_DOMAIN="demo.flg360.co.uk")
    assert s["FLG_BASE_URL"] == "https://demo.flg360.co.uk"
    assert s["FLG_BOOKING_HOSTS"] == ["platform.getflg.com"]
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
    assert s["DEBUG"] is True
    assert s["PORTAL_NAME"] == "From the file"


def test_mail_goes_through_the_smtp_server_the_environment_names():
    s = settings_from(
        DEBUG="1",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="portal",
        EMAIL_HOST_PASSWORD="mail-secret",
        EMAIL_USE_TLS="1",
        DEFAULT_FROM_EMAIL="bookings@acme.example",
    )
    names = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER"]
    names += ["EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL"]
    assert [s[name] for name in names] == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        587,
        "portal",
        "mail-secret",
        True,
        10,
        "bookings@acme.example",
    ]


def test_mail_cannot_use_tls_and_ssl_at_once():
    assert refusal(DEBUG="1", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1") == (
        "Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both."
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
        ("DATABASE_URL", "nonsense", "DATABASE_URL must be postgres://"),
        ("DATABASE_URL", "mysql://u@db.example/portal", "DATABASE_URL must be postgres://"),
        ("DATABASE_URL", "postgres://", "DATABASE_URL 'postgres://' names no database"),
        ("DATABASE_URL", "postgres://u@db.example:port/x", "has a port that is not a number"),
        ("CACHE_URL", "memcache://x", "CACHE_URL must be redis://"),
        ("CACHE_URL", "nonsense", "CACHE_URL must be redis://"),
        ("CACHE_URL", "redis://", "CACHE_URL 'redis://' names no host"),
        ("CACHE_URL", "redis://cache.example:port/0", "has a port that is not a number"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("ALLOWED_HOSTS", "https://book.example.com", "ALLOWED_HOSTS lists host names"),
        ("CSRF_TRUSTED_ORIGINS", "book.example.com", "CSRF_TRUSTED_ORIGINS lists origins"),
        ("EMAIL_BACKEND", "smtp", "EMAIL_BACKEND must be the dotted path of a class"),
        ("EMAIL_BACKEND", "no.such.Backend", "EMAIL_BACKEND must be the dotted path of a class"),
        ("DEFAULT_FROM_EMAIL", "bookings", "DEFAULT_FROM_EMAIL must be an email address"),
        ("PORTAL_SUPPORT_EMAIL", "call us", "PORTAL_SUPPORT_EMAIL must be an email address"),
        ("PORTAL_URL", "book.example.com", "PORTAL_URL must be the portal's address"),
        ("FLG_BOOKING_HOSTS", "https://platform.getflg.com", "FLG_BOOKING_HOSTS lists hosts"),
        ("FLG_BOOKING_HOSTS", "platform.getflg.com:x", "FLG_BOOKING_HOSTS lists hosts"),
        ("METRICS_TOKEN", "change-me", "METRICS_TOKEN must be at least 16 characters"),
        ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics", "PROMETHEUS_MULTIPROC_DIR"),
        ("AXES_FAILURE_LIMIT", "five", "AXES_FAILURE_LIMIT must be a whole number"),
        ("FLG_SANDBOX", "sometimes", "FLG_SANDBOX must be true or false"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line(name, value, words):
    assert words in refusal(**{"SECRET_KEY": "x" * 50, name: value})


@pytest.mark.subprocess
def test_manage_py_says_a_bad_value_in_one_line_without_a_traceback():
    result = manage("check", SECRET_KEY="x" * 50, FLG_TIMEOUT="ten")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: FLG_TIMEOUT must be a whole number, not 'ten'."
    )


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


@pytest.mark.subprocess
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


def test_a_bad_database_url_is_quoted_without_its_password():
    message = refusal(SECRET_KEY="x" * 50, DATABASE_URL="mysql://portal:s3cret-pw@db/x")
    assert "mysql://portal:***@db/x" in message
    assert "s3cret-pw" not in message


def test_a_redis_cache_url_is_taken_as_it_is():
    s = settings_from(DEBUG="1", CACHE_URL="rediss://:pw@cache.example:6380/2")
    assert s["CACHES"]["default"]["LOCATION"] == "rediss://:pw@cache.example:6380/2"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        # (WEB_CONCURRENCY is read by gunicorn itself as it loads, before this file.)
        ("GUNICORN_THREADS", "eight", "GUNICORN_THREADS must be a whole number, not 'eight'."),
        ("GUNICORN_THREADS", "0", "GUNICORN_THREADS must be at least 1, not 0."),
        ("GUNICORN_MAX_REQUESTS", "many", "GUNICORN_MAX_REQUESTS must be a whole number"),
        ("GUNICORN_LOG_LEVEL", "loud", "GUNICORN_LOG_LEVEL must be debug, info, warning"),
    ],
)
def test_a_bad_gunicorn_value_stops_start_up_with_one_line(name, value, words):
    with pytest.raises(SystemExit) as stopped:
        gunicorn_config_from(SECRET_KEY="x" * 50, **{name: value})
    line = str(stopped.value.code)
    assert "\n" not in line
    assert line.startswith("Configuration error: ")
    assert words in line


@pytest.mark.subprocess
def test_gunicorn_stops_on_a_bad_value_with_its_one_line():
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--check-config", "bookingportal.wsgi"],
        cwd=ROOT,
        env=clean_env(SECRET_KEY="x" * 50, GUNICORN_THREADS="eight"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: GUNICORN_THREADS must be a whole number, not 'eight'."
    )


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
    line = refusal(SECRET_KEY="x" * 50, FLG_WEBHOOK_TOKEN=token)
    assert "FLG_WEBHOOK_TOKEN" in line and words in line
    assert "secrets.token_urlsafe(32)" in line
    assert GOOD_TOKEN not in line


def test_the_webhook_settings_are_read_from_the_environment():
    s = settings_from(
        DEBUG="1",
        FLG_WEBHOOK_TOKEN=f" {GOOD_TOKEN} , {GOOD_TOKEN}-old ",
        FLG_WEBHOOK_NO_BOOKING_STATUSES="Dead, Closed ,",
        FLG_WEBHOOK_INVITE_NEW="yes",
        FLG_WEBHOOK_LOG_DAYS="90",
    )
    names = ["FLG_WEBHOOK_TOKENS", "FLG_WEBHOOK_NO_BOOKING_STATUSES", "FLG_WEBHOOK_INVITE_NEW"]
    names += ["FLG_WEBHOOK_LOG_DAYS", "FLG_SANDBOX_WEBHOOK_URL"]
    assert [s[name] for name in names] == [
        [GOOD_TOKEN, f"{GOOD_TOKEN}-old"],
        ["Dead", "Closed"],
        True,
        90,
        "",
    ]


def test_without_a_webhook_token_there_is_no_webhook_and_nothing_else_changes():
    s = settings_from(DEBUG="1", FLG_SANDBOX="1")
    assert (s["FLG_WEBHOOK_TOKENS"], s["FLG_WEBHOOK_LOG_DAYS"]) == ([], 30)
