"""Simulated customers for `make bench`: sign in, view home, start a booking, reload the page
three times, refresh once, and again. Each simulated customer signs in as a customer of their
own; one more user probes /healthz beside them.

bench/locust_load.py starts this with `locust --headless`; the environment carries what it needs:
BENCH_CUSTOMERS (how many seeded customers there are), BENCH_STATUS_FILE (where to write the
count of answers per endpoint and status, every response time for exact percentiles, and when
the slow ones came) and
BENCH_SLOW_MS (an answer slower than this counts as having waited for FLG's timeout).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections import Counter, defaultdict

from locust import HttpUser, between, events, task

PASSWORD = "bench-password-1"  # the seeded customers' (bench/seed.py)
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "200"))
SLOW_MS = float(os.environ.get("BENCH_SLOW_MS", "2500"))
_numbers = itertools.count()
statuses: Counter[str] = Counter()
times: defaultdict[str, list[float]] = defaultdict(list)
slow: list[tuple[str, float, int]] = []

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE_TOKEN = re.compile(r'data-csrf-token="([^"]+)"')


@events.request.add_listener
def count_status(request_type, name, response_time, response, exception, **kwargs):
    code = getattr(response, "status_code", None) or "error"
    statuses[f"{name} {code}"] += 1
    times[name].append(response_time)
    if response_time >= SLOW_MS:
        statuses[f"{name} slow"] += 1
        slow.append((name, round(time.time(), 1), round(response_time)))


@events.quitting.add_listener
def write_statuses(environment, **kwargs):
    path = os.environ.get("BENCH_STATUS_FILE")
    if path:
        with open(path, "w") as out:
            json.dump({"statuses": statuses, "times": times, "slow": slow}, out)


class Customer(HttpUser):
    wait_time = between(0.1, 0.4)

    def on_start(self):
        number = next(_numbers) % CUSTOMERS
        page = self.client.get("/accounts/login/", name="login page")
        token = TOKEN.search(page.text).group(1)
        self.client.post(
            "/accounts/login/",
            {
                "username": f"bench-{number}@example.com",
                "password": PASSWORD,
                "csrfmiddlewaretoken": token,
            },
            name="login",
            allow_redirects=False,
        )

    @task
    def book(self):
        home = self.client.get("/", name="home")
        match = TOKEN.search(home.text)
        if not match:
            return
        # start_over: every start in the load is a real one that calls FLG (a plain start
        # within 30 s of the last would reuse that session and cost nothing). The counting pass
        # (bench/stages/calls.py) uses plain starts.
        started = self.client.post(
            "/book/consultation/",
            {"csrfmiddlewaretoken": match.group(1), "start_over": "1"},
            name="start",
            allow_redirects=False,
        )
        location = started.headers.get("Location")
        if started.status_code != 303 or not location:
            return
        page = None
        for _ in range(3):
            page = self.client.get(location, name="session")
        found = PAGE_TOKEN.search(page.text) if page is not None else None
        if found:
            self.client.post(
                location + "refresh/",
                headers={"X-CSRFToken": found.group(1), "Accept": "application/json"},
                name="refresh",
            )


class Probe(HttpUser):
    """A light load on /healthz in the same run: what a request costs that does nothing."""

    fixed_count = 1
    wait_time = between(0.1, 0.4)

    @task
    def healthz(self):
        self.client.get("/healthz", name="healthz")
