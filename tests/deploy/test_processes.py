"""The portal's two processes, web and worker, everywhere it runs: the Procfile, `make run` and
docker-compose name the same commands."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[2]
# Heroku's and foreman's (and honcho's) reading of a Procfile line; anything else is ignored.
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
WORKER = ["python", "manage.py", "run_worker"]
WORKER_HEALTH = ["python", "manage.py", "worker_health"]


def procfile() -> dict[str, list[str]]:
    types: dict[str, list[str]] = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        match = PROCFILE_LINE.match(line)
        if match:
            assert match.group(1) not in types, f"{match.group(1)} is named twice"
            types[match.group(1)] = shlex.split(match.group(2))
    return types


def dockerfile_cmd() -> list[str]:
    lines = re.findall(r"^CMD\s+(\[.*\])\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    assert lines, "the Dockerfile has no CMD in exec form"
    command: list[str] = json.loads(lines[-1])
    return command


def compose() -> dict[str, Any]:
    # PyYAML's safe loader resolves the file's `<<: *portal` merge keys as compose does.
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def make_dry_run(port: int) -> list[str]:
    """What `make run` would execute, one command per entry (continuation lines joined)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", "run", f"PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.replace("\\\n", " ").splitlines()


def test_the_procfile_names_a_web_and_a_worker_process():
    assert list(procfile()) == ["web", "worker"]


def test_the_procfiles_web_is_what_the_image_runs():
    web = procfile()["web"]
    assert web == dockerfile_cmd()
    assert web[:3] == ["gunicorn", "--config", "gunicorn.conf.py"]
    assert web[-1] == "bookingportal.wsgi"


def test_the_procfiles_worker_is_the_one_worker_command():
    assert procfile()["worker"] == WORKER


def test_compose_runs_a_worker_from_the_portals_image_and_environment():
    services = compose()["services"]
    portal, worker = services["portal"], services["worker"]
    assert worker["build"] == portal["build"]
    assert worker["image"] == portal["image"]
    assert worker["environment"] == portal["environment"]
    assert worker["command"] == procfile()["worker"]


def test_compose_starts_the_worker_after_the_migrations_like_the_portal():
    services = compose()["services"]
    depends_on = services["worker"]["depends_on"]
    assert depends_on == services["portal"]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    assert depends_on["db"] == {"condition": "service_healthy"}


def test_compose_checks_the_workers_own_health_and_restarts_it():
    worker = compose()["services"]["worker"]
    check = worker["healthcheck"]
    # The image's HEALTHCHECK asks gunicorn's /healthz, which no worker serves.
    assert check["test"] == ["CMD", *WORKER_HEALTH]
    assert "disable" not in check
    assert worker["restart"] == "unless-stopped"


def test_compose_gives_the_worker_time_to_finish_an_email_and_no_port():
    worker = compose()["services"]["worker"]
    grace = worker["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace), grace
    email_timeout = int(compose()["x-portal"]["environment"]["EMAIL_TIMEOUT"].split(":-")[1][:-1])
    # Docker's default is 10 s, then SIGKILL, possibly in the middle of a message.
    assert int(grace[:-1]) >= 5 * email_timeout
    assert "ports" not in worker


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_migrates_seeds_then_starts_the_server_and_the_worker_together():
    commands = make_dry_run(8123)
    migrate = next(i for i, c in enumerate(commands) if "manage.py migrate" in c)
    seed = next(i for i, c in enumerate(commands) if "manage.py seed_demo" in c)
    (launch,) = [c for c in commands if "-m bookingportal.launcher" in c]
    assert migrate < seed < commands.index(launch) == len(commands) - 1
    words = shlex.split(launch)
    environment = [w for w in words if re.fullmatch(r"[A-Z_]+=.*", w)]
    assert "DEBUG=1" in environment and "FLG_SANDBOX=1" in environment
    assert "PORT=8123" in environment
    program = words[len(environment) :]
    assert program[:3] == [".venv/bin/python", "-m", "bookingportal.launcher"]
    lines = dict(line.split(": ", 1) for line in program[3:])
    assert set(lines) == {"web", "worker"}
    # The web stays Django's development server (autoreload, static files) under make run.
    assert shlex.split(lines["web"]) == [
        ".venv/bin/python",
        "manage.py",
        "runserver",
        "127.0.0.1:8123",
    ]
    # The worker is the Procfile's, with the virtualenv's Python.
    assert shlex.split(lines["worker"]) == [".venv/bin/python", *procfile()["worker"][1:]]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_runs_banner_says_where_the_demos_emails_are():
    commands = make_dry_run(8123)
    banner = [c for c in commands if c.startswith("echo ")]
    assert any("http://127.0.0.1:8123/sandbox/mailbox/" in line for line in banner)
