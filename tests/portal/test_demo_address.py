"""The demo follows its address: `make run PORT=…`, and a sandbox served somewhere else."""

from __future__ import annotations

import subprocess

import pytest
from django.core.checks import run_checks

from tests.helpers import settings_from
from tests.processes import ROOT, manage


def addresses(**env: str) -> list[str]:
    """The FLG base, the booking hosts and the portal's address the settings derive."""
    s = settings_from(DEBUG="1", **env)
    return [s["FLG_BASE_URL"], ",".join(s["FLG_BOOKING_HOSTS"]), s["PORTAL_URL"]]


def test_the_local_defaults_follow_port():
    assert addresses(FLG_SANDBOX="1") == [
        "http://127.0.0.1:8000/sandbox",
        "127.0.0.1:8000",
        "http://127.0.0.1:8000",
    ]
    assert addresses(FLG_SANDBOX="1", PORT="8123") == [
        "http://127.0.0.1:8123/sandbox",
        "127.0.0.1:8123",
        "http://127.0.0.1:8123",
    ]


@pytest.mark.subprocess
def test_make_run_serves_on_port_and_turns_on_demo_mode():
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "runserver 127.0.0.1:8123" in dry
    assert "http://127.0.0.1:8123/admin/" in dry
    assert "PORT=8123" in dry and "FLG_SANDBOX_AUTO_LEADS=1" in dry
    assert "8000" not in dry


def test_booking_hosts_follow_a_sandbox_on_another_address():
    base, hosts, _ = addresses(FLG_SANDBOX="1", FLG_DOMAIN="http://127.0.0.1:9001/sandbox")
    assert (base, hosts) == ("http://127.0.0.1:9001/sandbox", "127.0.0.1:9001")
    # A sandbox run by another process, with this one's switched off, is followed too.
    assert addresses(FLG_DOMAIN="http://localhost:9002/sandbox")[1] == "localhost:9002"


def test_a_real_flg_domain_keeps_flgs_booking_host_with_the_sandbox_on():
    assert addresses(FLG_SANDBOX="1", FLG_DOMAIN="demo.flg360.co.uk")[1] == "platform.getflg.com"


def test_an_explicit_booking_host_wins():
    hosts = addresses(FLG_DOMAIN="http://127.0.0.1:9001/sandbox", FLG_BOOKING_HOSTS="a.test")[1]
    assert hosts == "a.test"


def test_a_check_names_booking_hosts_that_miss_the_sandbox(settings):
    settings.FLG_BASE_URL = "http://127.0.0.1:9001/sandbox"
    settings.FLG_BOOKING_HOSTS = ["platform.getflg.com"]
    [warning] = [m for m in run_checks() if m.id == "flg.W004"]
    assert "127.0.0.1:9001" in warning.msg
    assert "platform.getflg.com" in warning.msg
    assert "FLG_BOOKING_HOSTS=127.0.0.1:9001" in warning.hint


def test_the_check_is_quiet_when_the_hosts_match(settings):
    settings.FLG_BASE_URL = "http://127.0.0.1:9001/sandbox"
    settings.FLG_BOOKING_HOSTS = ["127.0.0.1:9001"]
    assert not [m for m in run_checks() if m.id == "flg.W004"]
    settings.FLG_BASE_URL = "https://demo.flg360.co.uk"
    settings.FLG_BOOKING_HOSTS = ["platform.getflg.com"]
    assert not [m for m in run_checks() if m.id == "flg.W004"]


@pytest.mark.subprocess
def test_the_check_warns_from_the_command_line():
    result = manage(
        "check",
        DEBUG="1",
        FLG_SANDBOX="1",
        FLG_DOMAIN="http://127.0.0.1:9001/sandbox",
        FLG_BOOKING_HOSTS="127.0.0.1:8000",
    )
    assert "flg.W004" in result.stderr + result.stdout
