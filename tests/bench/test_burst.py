"""The bench's burst: its customers really start bookings, and its figures read as a table."""

from __future__ import annotations

import time
import uuid
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from appointments.models import AppointmentType
from bench import report
from bench.clients import TYPE_SLUG
from bench.servers import Portal
from bench.stages import burst, campaign


def signed_in_session(user) -> str:
    """A session made outside any request, as bench/seed.py makes them for the burst."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.EmailBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def test_a_burst_customer_starts_a_real_booking_with_one_press(sandbox, customer, settings):
    # The burst measures starts, so its shortcut (a session made beforehand, a CSRF token of
    # the client's own choosing) must give a real start, not a 403 nor a sign-in page.
    AppointmentType.objects.create(flg_id=uuid.uuid4(), name="Consultation", slug=TYPE_SLUG)
    sandbox.mirror()
    url = sandbox.url.replace("localhost", "127.0.0.1")
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    portal = Portal(workspace=None, url=url, master=0, log=Path())
    client, token = burst.customer(portal, signed_in_session(customer.user))
    pressed = burst.press(client, url, token, time.perf_counter())
    assert pressed.status == 303
    assert sandbox.calls() == 1
    assert customer.sessions.count() == 1


def test_the_burst_prints_its_figures_as_a_table(capsys):
    report.print_burst(
        {
            "portal": "2 workers x 8 threads",
            "load_average_before": 0.5,
            "customers": 200,
            "window_s": 5.0,
            "flg_latency_ms": 300,
            "started": 200,
            "errors": 0,
            "statuses": {"303": 200},
            "flg_calls": 200,
            "start_p50_ms": 410.0,
            "start_p95_ms": 690.0,
            "start_max_ms": 800.0,
            "last_answer_after_s": 5.6,
            "slow_flg": {
                "flg_latency_ms": 1000,
                "started": 200,
                "errors": 0,
                "statuses": {"303": 200},
                "flg_calls": 200,
                "start_p50_ms": 1100.0,
                "start_p95_ms": 1400.0,
                "start_max_ms": 1600.0,
                "last_answer_after_s": 6.2,
            },
            "capacity": [
                {
                    "flg_latency_ms": 200,
                    "starts_per_second": 60.1,
                    "formula_starts_per_second": 80.0,
                    "portal_cpu_ms_per_start": 15.5,
                    "start_p50_ms": 700.0,
                    "start_p95_ms": 900.0,
                    "errors": 0,
                }
            ],
        }
    )
    out = capsys.readouterr().out
    assert "200 customers pressed Book within 5 s, FLG answering in 300 ms" in out
    assert "FLG 300 ms: started 200, errors 0" in out and "FLG calls 200" in out
    assert "FLG 1000 ms: started 200, errors 0" in out and "p95 1400.0 ms" in out
    assert "60.1" in out and "80.0" in out


def test_the_campaign_comes_in_waves_with_every_customer_in_the_window():
    times = campaign.arrivals(2000, 300)
    assert len(times) == 2000
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= 300
    per_second = [0] * 300
    for at in times:
        per_second[min(int(at), 299)] += 1
    # The waves: a peak second far above the mean of 6.7 a second.
    assert max(per_second) >= 3 * 2000 / 300


def test_the_campaign_prints_its_figures(capsys):
    report.print_campaign(
        {
            "customers": 2000,
            "seconds": 300,
            "mean_presses_per_second": 6.7,
            "peak_presses_per_second": 31,
            "flg_latency_ms": 300,
            "started": 2000,
            "errors": 0,
            "statuses": {"303": 2000},
            "flg_calls": 2000,
            "start_p50_ms": 380.0,
            "start_p95_ms": 620.0,
            "start_p99_ms": 800.0,
            "start_max_ms": 1200.0,
            "portal_cpu_ms_per_press": 6.1,
            "home_p95_ms": 40.0,
        }
    )
    out = capsys.readouterr().out
    assert "2000 customers over 300 s (mean 6.7/s, peak 31/s)" in out
    assert "started 2000, errors 0" in out and "portal CPU per press 6.1 ms" in out
