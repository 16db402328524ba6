"""Production settings: secure by default with DEBUG off, each switch from the environment,
and Django's deploy check clean."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.helpers import settings_from
from tests.processes import manage

# What an operator must set; everything else has a production default.
PRODUCTION_ENV = {
    "SECRET_KEY": "Yq3-production-like-secret-7hV9kQ2mZx8WcT4pLr6NbD1sFg5JuE0aHo-iKy",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "book.example.com",
    "FLG_DOMAIN": "demo.flg360.co.uk",
    "FLG_API_KEY": "a-real-looking-access-key",
    "FLG_SANDBOX": "0",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.example.com",
    "PORTAL_URL": "https://book.example.com",
}


def settings_with(**env: str) -> dict:
    """What the settings make of this environment, for the switches the tests look at."""
    s = settings_from(**env)
    return {
        "redirect": s["SECURE_SSL_REDIRECT"],
        "redirect_exempt": s["SECURE_REDIRECT_EXEMPT"],
        "hsts": s["SECURE_HSTS_SECONDS"],
        "hsts_subdomains": s["SECURE_HSTS_INCLUDE_SUBDOMAINS"],
        "hsts_preload": s["SECURE_HSTS_PRELOAD"],
        "session_secure": s["SESSION_COOKIE_SECURE"],
        "csrf_secure": s["CSRF_COOKIE_SECURE"],
        "session_httponly": s["SESSION_COOKIE_HTTPONLY"],
        "csrf_httponly": s["CSRF_COOKIE_HTTPONLY"],
        "proxy_header": s.get("SECURE_PROXY_SSL_HEADER"),
        "log_format": s["LOG_FORMAT"],
        "axes_limit": s["AXES_FAILURE_LIMIT"],
        "axes_cooloff_s": s["AXES_COOLOFF_TIME"].total_seconds(),
        "axes_parameters": s["AXES_LOCKOUT_PARAMETERS"],
        "backends": s["AUTHENTICATION_BACKENDS"],
    }


@pytest.mark.subprocess
def test_the_deploy_check_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.subprocess
def test_the_deploy_check_fails_with_the_sandbox_on():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION_ENV, "FLG_SANDBOX": "1"}
    )
    assert result.returncode != 0
    # Without FLG_SANDBOX_DEMO_HOST the sandbox refuses to mount: an error, not just a warning
    # (tests/flg_sandbox/test_sandbox_key.py has the demo host's warning, flg.W003).
    assert "flg.E002" in result.stdout + result.stderr


@pytest.mark.subprocess
def test_the_deploy_check_fails_when_cookies_may_travel_over_plain_http():
    env = {**PRODUCTION_ENV, "SESSION_COOKIE_SECURE": "0", "SECURE_SSL_REDIRECT": "0"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W012" in result.stderr and "security.W008" in result.stderr


def test_production_is_https_only_by_default():
    s = settings_with(**PRODUCTION_ENV)
    assert s["redirect"] is True
    assert s["redirect_exempt"] == ["^healthz$", "^readyz$", "^metrics$"]
    assert s["hsts"] == 31536000
    assert s["hsts_subdomains"] is True
    assert s["hsts_preload"] is False
    assert s["session_secure"] is True and s["csrf_secure"] is True
    assert s["session_httponly"] is True and s["csrf_httponly"] is True
    assert s["proxy_header"] is None
    assert s["log_format"] == "json"


def test_development_stays_on_plain_http_with_readable_logs():
    s = settings_with(DEBUG="1")
    assert s["redirect"] is False
    assert s["hsts"] == 0
    assert s["session_secure"] is False and s["csrf_secure"] is False
    assert s["log_format"] == "plain"


def test_each_production_switch_comes_from_the_environment():
    s = settings_with(
        **PRODUCTION_ENV,
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_HSTS_PRELOAD="1",
        SESSION_COOKIE_SECURE="off",
        CSRF_COOKIE_SECURE="no",
        LOG_FORMAT="plain",
        AXES_FAILURE_LIMIT="3",
        AXES_COOLOFF_MINUTES="30",
    )
    assert s["redirect"] is False
    assert (s["hsts"], s["hsts_subdomains"], s["hsts_preload"]) == (3600, False, True)
    assert s["session_secure"] is False and s["csrf_secure"] is False
    assert s["log_format"] == "plain"
    assert (s["axes_limit"], s["axes_cooloff_s"]) == (3, 1800)


def test_sign_in_is_throttled_by_email_and_address_together():
    s = settings_with(**PRODUCTION_ENV)
    assert s["axes_parameters"] == [["username", "ip_address"]]
    assert s["axes_limit"] == 5 and s["axes_cooloff_s"] == 15 * 60
    assert s["backends"] == [
        "axes.backends.AxesStandaloneBackend",
        "accounts.backends.EmailBackend",
    ]


@pytest.mark.subprocess
def test_x_forwarded_proto_counts_only_behind_our_proxy():
    assert settings_with(**PRODUCTION_ENV, TRUSTED_PROXIES="127.0.0.1")["proxy_header"] == (
        "HTTP_X_FORWARDED_PROTO",
        "https",
    )
    code = (
        "from django.test import RequestFactory; "
        "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure())"
    )
    trusted = manage("shell", "-c", code, **PRODUCTION_ENV, TRUSTED_PROXIES="127.0.0.1")
    untrusted = manage("shell", "-c", code, **PRODUCTION_ENV)
    assert trusted.stdout.splitlines()[-1] == "True", trusted.stderr
    assert untrusted.stdout.splitlines()[-1] == "False", untrusted.stderr


def test_a_bad_switch_stops_start_up_with_one_clear_line():
    for name, value, words in [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or plain"),
        ("SECURE_HSTS_SECONDS", "a year", "SECURE_HSTS_SECONDS must be a whole number"),
        ("SECURE_SSL_REDIRECT", "maybe", "SECURE_SSL_REDIRECT must be true or false"),
        ("AXES_COOLOFF_MINUTES", "0", "AXES_COOLOFF_MINUTES must be at least 1"),
    ]:
        with pytest.raises(ImproperlyConfigured) as refused:
            settings_from(**{**PRODUCTION_ENV, name: value})
        assert words in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.subprocess
@pytest.mark.parametrize("backend", ["console", "locmem", "dummy"])
def test_the_deploy_check_warns_when_mail_would_never_leave_the_machine(backend):
    env = {**PRODUCTION_ENV, "EMAIL_BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "accounts.W002" in result.stderr
    assert "sign-in links, password resets and invitations never reach customers" in (result.stderr)


@pytest.mark.subprocess
def test_the_deploy_check_warns_when_mail_is_left_at_its_default():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "EMAIL_BACKEND"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "accounts.W002" in result.stderr


@pytest.mark.subprocess
@pytest.mark.parametrize("portal_url", [None, "http://localhost:8000", "http://127.0.0.1"])
def test_the_deploy_check_warns_when_portal_url_points_at_this_machine(portal_url):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "PORTAL_URL"}
    if portal_url:
        env["PORTAL_URL"] = portal_url
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "accounts.W001" in result.stderr
    assert "accounts.W002" not in result.stderr


@pytest.mark.subprocess
def test_mail_kept_on_the_machine_is_fine_while_developing():
    result = manage("check", "--deploy", DEBUG="1")
    assert "accounts.W002" not in result.stdout + result.stderr


@pytest.mark.subprocess
def test_the_deploy_check_warns_while_emails_would_link_to_loopback():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "PORTAL_URL"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "accounts.W001" in result.stderr
    assert "PORTAL_URL" in result.stderr
