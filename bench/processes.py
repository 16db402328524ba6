"""Starting the bench's processes, and stopping every one of them on the way out."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import FrameType
from typing import IO

import requests

from bench.config import BIN
from bench.procfs import children

_servers: list[subprocess.Popen[bytes]] = []
_loaders: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def gunicorn(
    src: Path,
    env: dict[str, str],
    port: int,
    workers: int,
    threads: int,
    log: Path,
    app: str = "bookingportal.wsgi",
) -> subprocess.Popen[bytes]:
    """gunicorn with the project's gunicorn.conf.py, as the Dockerfile runs it."""
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    process = subprocess.Popen(
        # No control socket: two servers (and the test suite's) would share one path.
        [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--no-control-socket",
            app,
        ],
        cwd=src,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _servers.append(process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn on port {port} exited; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                # Every worker up, not just the first.
                while len(children(process.pid)) < workers and time.monotonic() < deadline:
                    time.sleep(0.1)
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn on port {port} did not answer /healthz in 30 s; see {log}")


def loader(args: list[str], env: dict[str, str], log: IO[str]) -> subprocess.Popen[bytes]:
    """A load generator, which stop_everything() ends too if the run is cut short."""
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    _loaders.append(process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one server this run started, before the run ends."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    _reap(process)
    _servers.remove(process)


def stop_everything() -> None:
    for process in _loaders:
        if process.poll() is None:
            process.terminate()
    for process in _servers:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for process in _loaders + _servers:
        _reap(process)


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a process asked to stop; kill its group (or it alone) after 15 s."""
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait(timeout=5)


def exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """A signal handler: SIGTERM and SIGHUP unwind the run like Ctrl-C, through its clean-up."""
    raise SystemExit(128 + signum)
