"""The in-process half of bench/profile.py: run with the portal's environment."""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookingportal.settings")

import django

django.setup()

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer

TYPE_SLUG = "consultation"


def main(n: int, out: Path) -> None:
    user = get_user_model().objects.get(username="bench-1@example.com")
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    client.force_login(user)
    token = "a" * 32
    client.cookies["csrftoken"] = token
    start = client.post(f"/book/{TYPE_SLUG}/", {"csrfmiddlewaretoken": token})
    assert start.status_code == 303, start.status_code
    page = start["Location"]
    pages = {
        "home": lambda: client.get("/"),
        "session": lambda: client.get(page),
        "start": lambda: client.post(
            f"/book/{TYPE_SLUG}/", {"csrfmiddlewaretoken": token, "start_over": "1"}
        ),
        "refresh": lambda: client.post(page + "refresh/", HTTP_X_CSRFTOKEN=token),
    }
    for name, call in pages.items():
        for _ in range(20):
            answer = call()
            assert answer.status_code in (200, 303), (name, answer.status_code)
        with CaptureQueriesContext(connection) as queries:
            call()
        # Read now: the log is the connection's, and emptied when it goes back to the pool.
        count = len(queries.captured_queries)
        (out / f"profile-{name}-queries.txt").write_text(
            "\n".join(q["sql"] for q in queries.captured_queries) + "\n"
        )
        cpu = time.process_time()
        for _ in range(n):
            call()
        cpu_ms = (time.process_time() - cpu) / n * 1000
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(n):
            call()
        profiler.stop()
        (out / f"profile-{name}.html").write_text(profiler.output_html())
        tree = profiler.output_text(unicode=True, color=False, show_all=False)
        (out / f"profile-{name}.txt").write_text(tree)
        flat = profiler.output(ConsoleRenderer(flat=True, show_all=True))
        (out / f"profile-{name}-flat.txt").write_text(flat)
        stats_file = out / f"profile-{name}-cprofile.txt"
        with stats_file.open("w") as stream:
            cprofile = cProfile.Profile()
            cprofile.enable()
            for _ in range(n):
                call()
            cprofile.disable()
            cprofile.dump_stats(out / f"profile-{name}.prof")  # for pstats' callers and callees
            pstats.Stats(cprofile, stream=stream).sort_stats("cumulative").print_stats(120)
        print(
            f"=== {name}: {cpu_ms:.2f} ms CPU per request (test client included), {count} queries"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
