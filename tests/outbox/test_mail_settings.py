"""Where mail goes: the demo mailbox with the sandbox, unless EMAIL_BACKEND says otherwise."""

from __future__ import annotations

import pytest

from tests.processes import manage

pytestmark = pytest.mark.subprocess

PRINT = "from django.conf import settings as s; print(s.EMAIL_BACKEND)"


def backend(**env: str) -> str:
    result = manage("shell", "-c", PRINT, DEBUG="1", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_with_the_sandbox_and_no_backend_set_emails_land_in_the_demo_mailbox():
    assert backend(FLG_SANDBOX="1") == "flg_sandbox.mailbox.EmailBackend"


@pytest.mark.parametrize("sandbox", ["0", "1"])
def test_an_explicit_email_backend_is_always_honoured(sandbox):
    chosen = "django.core.mail.backends.smtp.EmailBackend"
    assert backend(FLG_SANDBOX=sandbox, EMAIL_BACKEND=chosen) == chosen


def test_without_the_sandbox_nothing_stores_an_email():
    assert backend(FLG_SANDBOX="0") == "django.core.mail.backends.console.EmailBackend"
