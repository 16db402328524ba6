"""The parsers and checks that moved out of settings.py (bookingportal.env), and what
settings.py assigns from bookingportal.wiring and bookingportal.logging_config, as plain
functions: a good value's result, a bad value's one sentence."""

from __future__ import annotations

import os
from pathlib import Path

from bookingportal import env, wiring
from bookingportal.logging_config import logging_config
from tests.helpers import refusal

ROOT = Path(__file__).resolve().parents[2]


def test_a_whole_number_may_have_a_ceiling(setenv):
    setenv("X_DAYS", "365")
    assert env.env_int("X_DAYS", 14, minimum=1, maximum=365) == 365
    setenv("X_DAYS", "366")
    assert refusal(env.env_int, "X_DAYS", 14, minimum=1, maximum=365) == (
        "X_DAYS must be at most 365, not 366."
    )


def test_the_secret_key_is_required_unless_debugging(setenv):
    setenv("X_SECRET", " s3cret ")
    assert env.env_secret_key("X_SECRET", debug=False) == "s3cret"
    setenv("X_SECRET", "  ")
    assert env.env_secret_key("X_SECRET", debug=True).startswith("django-insecure-")
    assert refusal(env.env_secret_key, "X_SECRET", debug=False) == (
        "X_SECRET is not set: set it to a long random value "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
        "or set DEBUG=1 for local development."
    )


def test_a_list_drops_blanks(setenv):
    setenv("X_LIST", None)
    assert env.env_list("X_LIST") == []
    setenv("X_LIST", " Dead, ,Closed ,")
    assert env.env_list("X_LIST") == ["Dead", "Closed"]


def test_the_portal_url(setenv):
    assert env.parse_portal_url("X_URL", " https://book.example.com/ ") == (
        "https://book.example.com"
    )
    assert env.parse_portal_url("X_URL", "http://127.0.0.1:8000/portal") == (
        "http://127.0.0.1:8000/portal"
    )
    for bad in ["book.example.com", "ftp://book.example.com", "https://x.example/?a=1"]:
        assert refusal(env.parse_portal_url, "X_URL", bad) == (
            f"X_URL must be the portal's address, such as https://book.example.com, not {bad!r}."
        )


def test_a_key_file_is_read_without_its_whitespace(tmp_path):
    key = tmp_path / "key"
    key.write_text("  the-key\n", encoding="utf-8")
    assert env.read_key_file("X_FILE", str(key)) == "the-key"
    missing = str(tmp_path / "missing")
    assert refusal(env.read_key_file, "X_FILE", missing) == (
        f"X_FILE {missing!r} cannot be read (No such file or directory)."
    )


def test_the_booking_hosts_default_to_flg_or_the_sandbox_asked():
    assert env.default_booking_hosts("") == "platform.getflg.com"
    assert env.default_booking_hosts("https://demo.flg360.co.uk") == "platform.getflg.com"
    assert env.default_booking_hosts("http://127.0.0.1:8001/sandbox") == "127.0.0.1:8001"


def test_booking_hosts_are_host_names_or_host_and_port():
    assert env.parse_booking_hosts("X_HOSTS", " Platform.GetFLG.com, 127.0.0.1:8000 ,") == [
        "platform.getflg.com",
        "127.0.0.1:8000",
    ]
    for bad in ["https://platform.getflg.com", "host/path", "user@host", "host:port"]:
        assert refusal(env.parse_booking_hosts, "X_HOSTS", bad) == (
            f"X_HOSTS lists hosts such as platform.getflg.com (or host:port), not {bad!r}."
        )


def test_the_sandbox_webhook_url():
    assert env.parse_webhook_url("X_HOOK", "  ") == ""
    assert env.parse_webhook_url("X_HOOK", " https://x.example/h/ ") == "https://x.example/h/"
    assert refusal(env.parse_webhook_url, "X_HOOK", "x.example/h/") == (
        "X_HOOK must be an http or https URL, such as "
        "http://127.0.0.1:8000/flg/webhooks/leads/<token>/."
    )


def test_the_metrics_token_is_unset_or_long_enough(setenv):
    setenv("X_TOKEN", None)
    assert env.env_metrics_token("X_TOKEN") == ""
    setenv("X_TOKEN", " short-token ")
    assert refusal(env.env_metrics_token, "X_TOKEN").startswith(
        "X_TOKEN must be at least 16 characters"
    )
    setenv("X_TOKEN", "0123456789abcdef")
    assert env.env_metrics_token("X_TOKEN") == "0123456789abcdef"


def test_an_empty_metrics_directory_is_unset(setenv, tmp_path):
    setenv("X_DIR", "  ")
    assert env.env_multiproc_dir("X_DIR") == ""
    assert "X_DIR" not in os.environ  # prometheus-client would switch mode on its mere presence
    setenv("X_DIR", str(tmp_path))
    assert env.env_multiproc_dir("X_DIR") == str(tmp_path)
    setenv("X_DIR", str(tmp_path / "missing"))
    assert refusal(env.env_multiproc_dir, "X_DIR") == (
        f"X_DIR {str(tmp_path / 'missing')!r} is not a directory this process can write to; "
        "create it (gunicorn.conf.py does at start) or unset it."
    )


def test_the_log_level(setenv):
    setenv("X_LEVEL", None)
    assert env.env_log_level("X_LEVEL") == "INFO"
    setenv("X_LEVEL", " warning ")
    assert env.env_log_level("X_LEVEL") == "WARNING"
    setenv("X_LEVEL", "loud")
    assert refusal(env.env_log_level, "X_LEVEL") == (
        "X_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not 'LOUD'."
    )


def test_staff_two_factor_may_be_off_only_while_debugging(setenv):
    setenv("X_2FA", None)
    assert env.env_staff_two_factor("X_2FA", debug=False) is True
    setenv("X_2FA", "0")
    assert env.env_staff_two_factor("X_2FA", debug=True) is False
    assert refusal(env.env_staff_two_factor, "X_2FA", debug=False) == (
        "X_2FA may be off only with DEBUG on (a local demo); unset it or set it to 1 in production."
    )


def test_a_database_entry_gets_the_portals_connection_options():
    postgres = wiring.database_entry(
        env.parse_database_url("X", "postgres://u:p@db:5432/portal"), threads=12
    )
    # A pool per process, as large as the threads that might each hold a row lock...
    assert postgres["CONN_MAX_AGE"] == 0
    assert postgres["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 12, "timeout": 10}
    assert postgres["CONN_HEALTH_CHECKS"] is True
    # ...unless the start lock is in Redis: then starts waiting on FLG hold no connection.
    shared = wiring.database_entry(
        env.parse_database_url("X", "postgres://u:p@db:5432/portal"), threads=48, shared_cache=True
    )
    assert shared["OPTIONS"]["pool"]["max_size"] == wiring.POOL_WITH_SHARED_CACHE
    assert wiring.cache_is_shared({"BACKEND": "bookingportal.cache.TolerantRedisCache"})
    assert not wiring.cache_is_shared({"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})
    sqlite = wiring.database_entry(env.parse_database_url("X", "sqlite:////tmp/x.sqlite3"))
    assert sqlite["OPTIONS"] == {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
    }


def test_a_redis_cache_is_the_one_that_survives_redis_down():
    redis = wiring.cache_entry(env.parse_cache_url("X", "redis://cache:6379/0"))
    assert redis["BACKEND"] == "bookingportal.cache.TolerantRedisCache"
    local = wiring.cache_entry(env.parse_cache_url("X", "locmemcache://portal"))
    assert local["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_templates_folder_and_the_middleware_order():
    [templates] = wiring.templates(ROOT / "templates")
    assert templates["DIRS"] == [ROOT / "templates"]
    assert "bookingportal.context_processors.portal" in templates["OPTIONS"]["context_processors"]
    assert wiring.MIDDLEWARE[0] == "bookingportal.middleware.RequestIdMiddleware"
    assert wiring.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_every_log_line_is_masked_in_the_chosen_format():
    config = logging_config(level="WARNING", log_format="plain")
    handler = config["handlers"]["console"]
    assert handler["formatter"] == "plain"
    assert handler["filters"] == ["request_id", "mask_secrets"]
    assert config["root"]["level"] == "WARNING"
    # Django's own handlers are dropped, so its lines reach the masked one.
    assert config["loggers"]["django"]["handlers"] == []
