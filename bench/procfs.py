"""CPU time and memory of the portal's processes, read from /proc."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> list[str]:
    # Fields after the command name, which may itself hold spaces: [0] is field 3 (state).
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if int(stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def tree_cpu_seconds(master: int) -> float:
    """CPU of a gunicorn master, its live workers, and the workers it has reaped."""
    total = 0
    for pid in children(master):
        try:
            fields = stat(pid)
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            continue
    fields = stat(master)
    total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLOCK_TICKS


def worker_cpu_ms(master: int) -> int:
    """CPU each of a master's live workers has used so far, on average: read just after the
    start, what a worker spends booting (Django and the app loaded), which max_requests pays
    again."""
    booted = [stat(pid) for pid in children(master)]
    return round(sum(int(f[11]) + int(f[12]) for f in booted) / CLOCK_TICKS * 1000 / len(booted))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """Peak resident memory of any one of the portal's workers, sampled four times a second."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.peak_kb = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for pid in children(self.master):
                with contextlib.suppress(OSError):
                    self.peak_kb = max(self.peak_kb, rss_kb(pid))
            self.stopping.wait(0.25)

    def take_peak_mb(self) -> float:
        peak, self.peak_kb = self.peak_kb, 0
        return round(peak / 1024, 1)
