"""Helpers the test modules share: the security-header check, start-up read in this process,
and the suite's password hasher."""

from __future__ import annotations

import os
import re
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ImproperlyConfigured

from tests.processes import ROOT, clean_env


def csrf_token(browser, url: str) -> str:
    """The CSRF token of the form on the page at `url`, fetched over HTTP with `browser`
    (a requests.Session holding the cookies)."""
    found = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(url, timeout=10).text
    )
    assert found is not None, f"no form with a CSRF token at {url}"
    return found[1]


def csp_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    policy = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        policy[name] = sources
    return policy


def assert_security_headers(response) -> dict[str, list[str]]:
    """Every header a portal page must carry; returns the policy for the page's own checks."""
    csp = csp_of(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in response["Permissions-Policy"]
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    return csp


@contextmanager
def environment(**env: str) -> Iterator[None]:
    """os.environ as a fresh process started by tests.processes would have it, then as it was."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(clean_env(**env))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_from(**env: str) -> dict[str, Any]:
    """The settings bookingportal/settings.py builds from exactly this environment.

    Run here, not in a `manage.py` process (a second of start-up each): what a bad value
    raises comes out as ImproperlyConfigured, which manage.py and gunicorn print as one line
    (tests/portal/test_settings.py proves that part in a real process).
    """
    with environment(**env):
        return runpy.run_path(str(ROOT / "bookingportal" / "settings.py"))


def gunicorn_config_from(**env: str) -> dict[str, Any]:
    """What gunicorn.conf.py sets from exactly this environment (SystemExit for a bad value)."""
    with environment(**env):
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """The production algorithm with a thousandth of its work, for the suite's own process.

    One production hash costs about 0.3 s on a 2-core machine, and the suite makes and checks
    hundreds of passwords. The hashes stay `pbkdf2_sha256$…` (the rounds are written in each),
    so a portal the tests start in a subprocess, with the production hashers, still checks
    them, and upgrades them as it would an old hash.
    """

    iterations = 1000


def quick_hashers(hashers: list[str]) -> list[str]:
    """The production list, with its PBKDF2 hasher swapped for the quick one."""
    default = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    quick = f"{__name__}.{QuickPBKDF2PasswordHasher.__name__}"
    return [quick if path == default else path for path in hashers]


def refusal(call, *args: Any, **kwargs: Any) -> str:
    """The ImproperlyConfigured sentence `call(*args, **kwargs)` stops with."""
    with pytest.raises(ImproperlyConfigured) as refused:
        call(*args, **kwargs)
    return str(refused.value)
