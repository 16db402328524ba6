"""`make run`'s launcher, run for real with stand-in commands: Ctrl-C stops the server and the
worker, and either one ending stops the other, so no worker is ever left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bookingportal import launcher

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[2]
# A stand-in for runserver or run_worker: it records its pid, then serves until told to stop.
# On SIGTERM it takes a moment (an email being sent) and records that it stopped gracefully.
STAND_IN = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    name, folder, behaviour = sys.argv[1:4]
    def record(what, text):
        with open(os.path.join(folder, f"{name}.{what}"), "w") as f:
            f.write(text)
    def on_term(signum, frame):
        time.sleep(0.3)
        record("stopped", "SIGTERM")
        sys.exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if behaviour == "stubborn" else on_term)
    if behaviour == "with-child":  # runserver's autoreloader runs the server as a child
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        record("child", str(child.pid))
    record("pid", str(os.getpid()))
    if behaviour.startswith("exit-"):
        time.sleep(1)
        sys.exit(int(behaviour[5:]))
    while True:
        time.sleep(0.1)
    """
)


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class Run:
    """The launcher with a web and a worker stand-in, as `make run` starts it."""

    def __init__(self, folder: Path, web: str = "serve", worker: str = "serve", *args: str):
        self.folder = folder
        script = folder / "stand_in.py"
        script.write_text(STAND_IN)
        lines = [
            f"{name}: {sys.executable} {script} {name} {folder} {behaviour}"
            for name, behaviour in (("web", web), ("worker", worker))
        ]
        # Its own session, like a terminal's foreground job: Ctrl-C goes to the whole group.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bookingportal.launcher", *args, *lines],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def pid(self, name: str, what: str = "pid") -> int:
        path = self.folder / f"{name}.{what}"
        assert wait_for(lambda: path.exists() and path.read_text() != ""), f"no {path.name}"
        return int(path.read_text())

    def stopped(self, name: str) -> str:
        path = self.folder / f"{name}.stopped"
        return path.read_text() if path.exists() else ""

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout: float = 20) -> tuple[int, str]:
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:  # whatever a failing test left running
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.communicate()
        for path in [*run.folder.glob("*.pid"), *run.folder.glob("*.child")]:
            if running(int(path.read_text())):
                os.kill(int(path.read_text()), signal.SIGKILL)


def start(runs: list[Run], folder: Path, *args: str, **behaviours: str) -> Run:
    run = Run(folder, behaviours.get("web", "serve"), behaviours.get("worker", "serve"), *args)
    runs.append(run)
    return run


def test_ctrl_c_stops_the_server_and_the_worker_gracefully(runs, tmp_path):
    run = start(runs, tmp_path)
    web, worker = run.pid("web"), run.pid("worker")
    assert running(web) and running(worker)
    run.ctrl_c()
    returncode, stderr = run.finish()
    assert not running(web) and not running(worker)
    assert run.stopped("web") == run.stopped("worker") == "SIGTERM"
    # It ends by the signal, so make reports an interrupt rather than a failure.
    assert returncode == -signal.SIGINT
    assert "SIGINT received" in stderr


def test_sigterm_to_the_launcher_stops_both_too(runs, tmp_path):
    run = start(runs, tmp_path)
    web, worker = run.pid("web"), run.pid("worker")
    run.process.terminate()
    returncode, _ = run.finish()
    assert returncode == -signal.SIGTERM
    assert not running(web) and not running(worker)
    assert run.stopped("worker") == "SIGTERM"


@pytest.mark.parametrize(("dies", "survivor"), [("worker", "web"), ("web", "worker")])
def test_when_one_process_dies_the_other_is_stopped(runs, tmp_path, dies, survivor):
    run = start(runs, tmp_path, **{dies: "exit-3"})
    other = run.pid(survivor)
    returncode, stderr = run.finish()
    assert returncode == 3
    assert f"{dies} ended (exit status 3): stopping the rest" in stderr
    assert not running(other)
    assert run.stopped(survivor) == "SIGTERM"


def test_the_processes_children_stop_with_it(runs, tmp_path):
    run = start(runs, tmp_path, web="with-child")
    child = run.pid("web", "child")
    assert running(child)
    run.ctrl_c()
    run.finish()
    assert not running(child)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(runs, tmp_path):
    run = start(runs, tmp_path, "--grace", "1", worker="stubborn")
    worker = run.pid("worker")
    began = time.monotonic()
    run.ctrl_c()
    _, stderr = run.finish()
    assert time.monotonic() - began < 10
    assert not running(worker)
    assert "worker is still running: killing it" in stderr


def test_a_second_ctrl_c_kills_at_once(runs, tmp_path):
    run = start(runs, tmp_path, "--grace", "60", worker="stubborn")
    worker = run.pid("worker")
    began = time.monotonic()
    run.ctrl_c()
    time.sleep(0.5)
    run.ctrl_c()
    _, stderr = run.finish()
    assert time.monotonic() - began < 10
    assert not running(worker)
    assert "worker is still running: killing it" in stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_killing_the_launcher_outright_still_stops_both(runs, tmp_path):
    run = start(runs, tmp_path)
    web, worker = run.pid("web"), run.pid("worker")
    run.process.kill()
    run.finish()
    assert wait_for(lambda: not running(web) and not running(worker), timeout=10)
    assert run.stopped("worker") == "SIGTERM"


def test_a_command_that_cannot_start_stops_the_one_already_started(runs, tmp_path):
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bookingportal.launcher",
            f"web: {sys.executable} {script} web {tmp_path} serve",
            "worker: /nonexistent/python manage.py run_worker",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 127
    assert "could not start worker" in result.stderr
    web = re.search(r"web started \(pid (\d+)\)", result.stderr)
    assert web, result.stderr
    assert not running(int(web.group(1)))


def test_it_reads_procfile_lines():
    command = launcher.parse("worker: python manage.py run_worker")
    assert command == launcher.Command("worker", ["python", "manage.py", "run_worker"])
    for wrong in ["python manage.py run_worker", "worker:", ": python", "two words: python"]:
        with pytest.raises(ValueError, match="not a `name: command` line"):
            launcher.parse(wrong)
