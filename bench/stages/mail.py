"""Email off the request path, measured: `python -m bench.stages.mail` (BENCH_STAGES=mail).

Runs alone, with its own database (MAIL_BENCH_DATABASE_URL, default a file SQLite in a
temporary directory; a postgres:// URL measures production's), the portal under gunicorn
(2 workers x 8 threads), one `manage.py run_worker` and a real SMTP server (bench/smtp_sink.py):

(a) SMTP taking 2 s a message: the sign-in link request's time for 20 known and 20 unknown
    addresses (medians, and their difference);
(b) SMTP hanging: 24 simultaneous link requests while a signed-in customer loads home (p95);
(c) SMTP down for a minute, then back: every email queued meanwhile arrives, each once;
(d) 35,000 invitations: the time to queue them, and the worker's sends per second.
"""

from __future__ import annotations

import json
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench import smtp_sink
from bench.config import OUT, ROOT
from bench.processes import free_port, gunicorn, stop_everything
from bench.stats import percentile

KNOWN, HANG_REQUESTS, INVITES = 20, 24, 35_000
PASSWORD = "bench-password-0123"
SEED = """
from django.contrib.auth import get_user_model
from appointments.models import Customer, LeadGroup, AppointmentType
import uuid
User = get_user_model()
group = LeadGroup.objects.create(flg_id=1, name="Bench")
AppointmentType.objects.create(flg_id=uuid.uuid4(), name="Survey", slug="survey")
users = User.objects.bulk_create(
    [User(username=f"k{n}@example.com", email=f"k{n}@example.com", password="!")
     for n in range(100)]
)
Customer.objects.bulk_create(
    [Customer(user=u, lead_id=str(1000 + n), lead_group=group) for n, u in enumerate(users)]
)
home = User.objects.create_user("home@example.com", "home@example.com", "PASSWORD")
Customer.objects.create(user=home, lead_id="999", lead_group=group)
""".replace("PASSWORD", PASSWORD)


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp, self.smtp_port, self.port = tmp, free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received = OUT / "mail-received.jsonl"
        self.received.write_text("")
        database = f"sqlite:///{tmp / 'mail.sqlite3'}"
        self.env = {
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
            "ENV_FILE": "/nonexistent/.env",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": __import__("os").environ.get("MAIL_BENCH_DATABASE_URL", database),
            "STATIC_ROOT": str(tmp / "static"),
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "FLG_DOMAIN": "http://127.0.0.1:9/sandbox",
            "FLG_API_KEY": "bench-key",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp_port),
            "EMAIL_TIMEOUT": "10",
            # Each request comes from its own address (X-Forwarded-For from this proxy), so the
            # per-client limit does not stand in the way of the measurement.
            "TRUSTED_PROXIES": "127.0.0.1",
            "OUTBOX_RETRY_FIRST_DELAY": "15",
            "WORKER_HEARTBEAT_FILE": str(tmp / "heartbeat"),
            "LOG_FORMAT": "json",
        }
        self.smtp: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.ip = 0

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(done.stderr[-3000:])
        return done.stdout

    def smtp_start(self, *flags: str) -> None:
        self.smtp_stop()
        self.smtp = smtp_sink.sink_start(port=self.smtp_port, out=self.received, flags=flags)

    def smtp_stop(self) -> None:
        if self.smtp is not None and self.smtp.poll() is None:
            self.smtp.kill()
            self.smtp.wait()

    def worker_start(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"],
            cwd=ROOT,
            env=self.env,
            stdout=(OUT / "mail-worker.log").open("a"),
            stderr=subprocess.STDOUT,
        )

    def worker_stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait()

    def arrived(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.received.read_text().splitlines()]

    def statuses(self) -> dict[str, int]:
        code = (
            "import json; from collections import Counter; from outbox.models import EmailRecord;"
            " print(json.dumps(Counter(EmailRecord.objects.values_list('status', flat=True))))"
        )
        return dict(json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1]))

    def ask_link(self, email: str) -> float:
        """One sign-in link request from a fresh client address; its POST's time in ms."""
        self.ip += 1
        session = requests.Session()
        headers = {
            "X-Forwarded-For": f"10.{self.ip // 65536}.{self.ip // 256 % 256}.{self.ip % 256}"
        }
        page = session.get(self.url + "/accounts/login/link/", headers=headers, timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]  # type: ignore[index]
        started = time.perf_counter()
        answer = session.post(
            self.url + "/accounts/login/link/",
            {"csrfmiddlewaretoken": token, "email": email},
            headers=headers,
            allow_redirects=False,
            timeout=30,
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 302, answer.status_code
        return elapsed


def timing(bench: Bench) -> dict[str, float]:
    bench.smtp_start("--delay", "2")
    known: list[float] = []
    unknown: list[float] = []
    for n in range(KNOWN):
        known.append(bench.ask_link(f"k{n}@example.com"))
        unknown.append(bench.ask_link(f"nobody{n}@example.com"))
    return {
        "known_median_ms": round(statistics.median(known), 1),
        "unknown_median_ms": round(statistics.median(unknown), 1),
        "difference_ms": round(abs(statistics.median(known) - statistics.median(unknown)), 1),
    }


def hanging(bench: Bench) -> dict[str, float]:
    bench.smtp_start("--hang")
    home = requests.Session()
    page = home.get(bench.url + "/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    signed = home.post(
        bench.url + "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": "home@example.com", "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert signed.status_code == 302, signed.status_code
    times: list[float] = []
    done = False

    def load_home() -> None:
        while not done:
            started = time.perf_counter()
            assert home.get(bench.url + "/", timeout=30).status_code == 200
            times.append((time.perf_counter() - started) * 1000)

    with ThreadPoolExecutor(HANG_REQUESTS + 1) as pool:
        loader = pool.submit(load_home)
        links = [
            pool.submit(bench.ask_link, f"k{20 + n}@example.com") for n in range(HANG_REQUESTS)
        ]
        link_ms = [f.result() for f in links]
        time.sleep(2)
        done = True
        loader.result()
    return {
        "home_p95_ms": round(percentile(times, 95) or 0.0, 1),
        "home_requests": len(times),
        "link_request_max_ms": round(max(link_ms), 1),
    }


def outage(bench: Bench) -> dict[str, Any]:
    bench.worker_stop()
    bench.smtp_stop()
    bench.received.write_text("")
    bench.manage(
        "shell", "-c", "from outbox.models import EmailRecord; EmailRecord.objects.all().delete()"
    )
    bench.worker_start()
    asked = [f"k{n}@example.com" for n in range(60, 80)]
    for email in asked:
        bench.ask_link(email)
    time.sleep(60)
    bench.smtp_start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and bench.statuses().get("queued"):
        time.sleep(2)
    time.sleep(5)
    got = [m["to"][0] for m in bench.arrived()]
    return {
        "queued": len(asked),
        "arrived": len(got),
        "each_once": sorted(got) == sorted(asked),
        "statuses": bench.statuses(),
    }


def invitations(bench: Bench) -> dict[str, Any]:
    bench.worker_stop()
    bench.smtp_start()
    bench.received.write_text("")
    code = f"""
import time
from django.contrib.auth import get_user_model
from appointments.models import Customer
from accounts import invites
from django.db import transaction
User = get_user_model()
users = User.objects.bulk_create(
    [User(username=f"i{{n}}@example.com", email=f"i{{n}}@example.com", password="!")
     for n in range({INVITES})], batch_size=2000)
Customer.objects.bulk_create(
    [Customer(user=u, lead_id=str(100000 + n)) for n, u in enumerate(users)], batch_size=2000)
started = time.perf_counter()
users = [c.user for c in Customer.objects.filter(lead_id__gte="100000").select_related("user")]
with transaction.atomic():
    invites.invites_send(users=users)
print(time.perf_counter() - started)
"""
    enqueue_s = float(bench.manage("shell", "-c", code).strip().splitlines()[-1])
    bench.worker_start()
    window = 90.0
    started = time.monotonic()
    time.sleep(window)
    sent = len(bench.arrived())
    elapsed = time.monotonic() - started
    load = __import__("os").getloadavg()[0]
    return {
        "load_average": round(load, 1),
        "invitations": INVITES,
        "enqueue_s": round(enqueue_s, 2),
        "sends_per_s": round(sent / elapsed, 1),
        "sent_in_window": sent,
        "window_s": round(elapsed, 1),
        "projected_total_min": round(INVITES / max(sent / elapsed, 0.01) / 60, 1),
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    bench = Bench(tmp)
    try:
        bench.manage("migrate", "--no-input")
        bench.manage("collectstatic", "--no-input")
        bench.manage("shell", "-c", SEED)
        gunicorn(ROOT, bench.env, bench.port, 2, 8, OUT / "mail-portal.log")
        bench.worker_start()
        figures = {"timing_2s_smtp": timing(bench)}
        print(json.dumps(figures["timing_2s_smtp"]), flush=True)
        figures["hanging_smtp"] = hanging(bench)
        print(json.dumps(figures["hanging_smtp"]), flush=True)
        figures["smtp_down_a_minute"] = outage(bench)
        print(json.dumps(figures["smtp_down_a_minute"]), flush=True)
        figures["invitations"] = invitations(bench)
        print(json.dumps(figures["invitations"]), flush=True)
        (OUT / "mail.json").write_text(json.dumps(figures, indent=2))
    finally:
        bench.worker_stop()
        bench.smtp_stop()
        stop_everything()
    return 0


if __name__ == "__main__":
    sys.exit(main())
