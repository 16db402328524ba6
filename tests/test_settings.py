"""Settings come from the environment, secure by default, and fail with one clear line."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from bookingportal.settings import parse_flg_domain
from tests.processes import manage

PRINT = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.FLG_BASE_URL, s.FLG_API_KEY, "
    "','.join(s.ALLOWED_HOSTS), s.LANGUAGE_CODE, s.TIME_ZONE, s.USE_TZ, sep='|')"
)


def settings_line(**env: str) -> list[str]:
    result = manage("shell", "-c", PRINT, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split("|")


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = manage("check")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SECRET_KEY" in lines[0]
    assert "Traceback" not in result.stderr


def test_it_starts_without_a_secret_key_when_debugging():
    result = manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_set():
    debug, *_ = settings_line(SECRET_KEY="x" * 50)
    assert debug == "False"


def test_it_defaults_to_sqlite_and_local_hosts_in_british_time():
    _, engine, _, _, hosts, language, zone, use_tz = settings_line(DEBUG="1")
    assert engine == "django.db.backends.sqlite3"
    assert hosts == "localhost,127.0.0.1"
    assert (language, zone, use_tz) == ("en-gb", "Europe/London", "True")


def test_database_url_switches_to_postgresql_without_code_changes():
    _, engine, *_ = settings_line(DEBUG="1", DATABASE_URL="postgres://u@db.example:5432/portal")
    assert engine == "django.db.backends.postgresql"


def test_the_sandbox_is_the_default_flg_when_switched_on():
    _, _, base, key, *_ = settings_line(DEBUG="1", FLG_SANDBOX="1")
    assert base == "http://127.0.0.1:8000/sandbox"
    assert key == "sandbox-appointments-key"


def test_it_reads_the_access_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("  from-a-file\n")
    _, _, _, key, *_ = settings_line(DEBUG="1", FLG_API_KEY_FILE=str(key_file))
    assert key == "from-a-file"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("FLG_TIMEOUT", "ten", "FLG_TIMEOUT must be a whole number"),
        ("FLG_DOMAIN", "http://flg.example.com", "only https is allowed"),
        ("FLG_DOMAIN", "https://user:pw@flg.example.com", "is not a domain or a URL"),
        ("FLG_API_KEY_FILE", "/nonexistent/key", "cannot be read"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line(name, value, words):
    env = {"SECRET_KEY": "x" * 50, name: value}
    result = manage("check", **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("demo.flg360.co.uk", "https://demo.flg360.co.uk"),
        (" demo.flg360.co.uk/ ", "https://demo.flg360.co.uk"),
        ("https://demo.flg360.co.uk", "https://demo.flg360.co.uk"),
        ("http://127.0.0.1:8000/sandbox/", "http://127.0.0.1:8000/sandbox"),
        ("http://localhost:9000/prefix/path", "http://localhost:9000/prefix/path"),
        ("https://flg.example.com:8443", "https://flg.example.com:8443"),
    ],
)
def test_flg_domain_accepts_a_bare_domain_or_a_base_url(raw, base):
    assert parse_flg_domain(raw) == base


@pytest.mark.parametrize(
    "raw",
    [
        "http://demo.flg360.co.uk",
        "ftp://demo.flg360.co.uk",
        "https://",
        "https://demo.flg360.co.uk/?q=1",
        "https://demo.flg360.co.uk:99999",
        "https://demo flg360.co.uk",
        "https://a@demo.flg360.co.uk",
    ],
)
def test_flg_domain_rejects_anything_else(raw):
    with pytest.raises(ImproperlyConfigured):
        parse_flg_domain(raw)
