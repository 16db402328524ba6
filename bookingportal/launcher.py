r"""`make run`'s process runner: the development server and the task worker, as one command.

    python -m bookingportal.launcher "web: python manage.py runserver" \
        "worker: python manage.py run_worker"

Each argument is a Procfile line (`name: command`, split like a shell would, never run by one).
The commands start together and stop together:

- Ctrl-C (SIGINT), SIGTERM or SIGHUP to this runner stops every command: SIGTERM to each, time
  to finish (a worker may be sending an email), then SIGKILL for whatever is left.
- When one command ends by itself, the others are stopped and the runner exits with its status.
  A demo whose worker has died would tell a customer "a link is on its way" and never send it,
  and a worker beside a development server that could not start serves nobody: either way the
  developer should see it at once, not find out later.
- If this runner is killed outright (SIGKILL), Linux sends each command SIGTERM on its behalf.

Each command runs in a session of its own, so a terminal's Ctrl-C reaches this runner alone and
the commands are stopped in order, by the signal they expect; each command's whole process group
is signalled, so runserver's autoreloader child stops with its parent.

Standard library only: it must run before anything else is known to work. honcho, the usual
Procfile runner, does not fit `make run`: it rewrites PORT for every process type after the
first (the worker would build its emails' links from port 8100) and gives a command 5 s to
stop before killing it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

# Time each command gets to stop after SIGTERM: the worker finishes the email it is sending
# (EMAIL_TIMEOUT, 10 s by default, bounds each step of the SMTP conversation).
GRACE_SECONDS = 30.0
POLL_SECONDS = 0.1
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Command:
    name: str
    argv: list[str]


@dataclass(frozen=True)
class Running:
    command: Command
    process: subprocess.Popen[bytes]


def parse(line: str) -> Command:
    """One Procfile line, `name: command`."""
    name, colon, rest = line.partition(":")
    argv = shlex.split(rest)
    if not colon or not name.strip().isidentifier() or not argv:
        raise ValueError(f"not a `name: command` line: {line!r}")
    return Command(name=name.strip(), argv=argv)


def say(message: str) -> None:
    print(f"[run] {message}", file=sys.stderr, flush=True)


def status_text(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


def exit_code(returncode: int) -> int:
    """The shell's convention: 128 + the signal for a command a signal ended."""
    return 128 - returncode if returncode < 0 else returncode


def _stop_with_parent(libc: ctypes.CDLL | None, parent: int) -> None:
    # Runs in the child between fork and exec: if the runner dies, the kernel sends SIGTERM.
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the runner died before the line above took effect
        os._exit(1)


def start(command: Command) -> Running:
    parent = os.getpid()
    libc = ctypes.CDLL(None) if sys.platform == "linux" else None
    process = subprocess.Popen(  # noqa: S603 (the developer's own command line)
        command.argv,
        start_new_session=True,
        preexec_fn=lambda: _stop_with_parent(libc, parent),  # no threads here
    )
    say(f"{command.name} started (pid {process.pid}): {shlex.join(command.argv)}")
    return Running(command=command, process=process)


def group_alive(process: subprocess.Popen[bytes]) -> bool:
    """Whether anything in the command's process group (the command and its children) runs."""
    process.poll()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a recycled group id that is not ours any more
        return False
    return True


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop(running: Sequence[Running], *, grace: float, signals: list[int]) -> None:
    """SIGTERM to every command, then SIGKILL after `grace` seconds or a second Ctrl-C."""
    alive = [r for r in running if group_alive(r.process)]
    for r in alive:
        say(f"stopping {r.command.name}")
        signal_group(r.process, signal.SIGTERM)
    asked = len(signals)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline and len(signals) <= asked:
        time.sleep(POLL_SECONDS)
        alive = [r for r in alive if group_alive(r.process)]
    for r in alive:
        say(f"{r.command.name} is still running: killing it")
        signal_group(r.process, signal.SIGKILL)
    for r in running:
        r.process.wait()


def run(commands: Sequence[Command], *, grace: float = GRACE_SECONDS) -> int:
    """Start every command; when one ends or a stop signal arrives, stop them all."""
    signals: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    running: list[Running] = []
    code = 0
    try:
        for command in commands:
            running.append(start(command))
        while not signals:
            ended = next((r for r in running if r.process.poll() is not None), None)
            if ended is not None:
                returncode = ended.process.returncode
                say(f"{ended.command.name} ended ({status_text(returncode)}): stopping the rest")
                code = exit_code(returncode)
                break
            time.sleep(POLL_SECONDS)
    except OSError as error:  # a command that cannot start: say which, stop the others
        say(f"could not start {commands[len(running)].name}: {error}")
        code = 127
    if signals:
        say(f"{signal.Signals(signals[0]).name} received: stopping everything")
        code = 128 + signals[0]
    stop(running, grace=grace, signals=signals)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookingportal.launcher", description=__doc__)
    parser.add_argument("lines", nargs="+", metavar="'name: command'")
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS, help="seconds to stop")
    args = parser.parse_args(argv)
    try:
        commands = [parse(line) for line in args.lines]
    except ValueError as error:
        parser.error(str(error))
    code = run(commands, grace=args.grace)
    if code - 128 in STOP_SIGNALS:
        # Stopped by a signal: end by it, so that make or the shell knows it was interrupted.
        signal.signal(code - 128, signal.SIG_DFL)
        os.kill(os.getpid(), code - 128)
    return code


if __name__ == "__main__":
    sys.exit(main())
