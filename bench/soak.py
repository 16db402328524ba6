"""Does a worker's memory grow as it serves? `python -m bench.soak [REQUESTS]`.

The bench's set-up, the portal under gunicorn with GUNICORN_MAX_REQUESTS=0 (never replaced),
then six signed-in customers asking for home, their session page and their data page in turn,
and a refresh every fifty, until REQUESTS (40,000) are answered; each worker's RSS is printed
every 2,500. gunicorn.conf.py's max_requests is set from what this shows.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time

from bench import clients, procfs, servers, workspace
from bench.report import say

CUSTOMERS = 6
EVERY = 2500


def main(total: int) -> int:
    with workspace.prepared("bench-soak-", customers=CUSTOMERS) as run:
        work = dataclasses.replace(run.work, env={**run.work.env, "GUNICORN_MAX_REQUESTS": "0"})
        portal = servers.start(work)
        servers.set_fault(work, "none", 0)
        answered, errors = [0], [0]
        lock = threading.Lock()

        def customer(number: int) -> None:
            client = clients.signed_in(portal.url, number)
            page = clients.start(portal.url, client)
            token = clients.page_token(client.get(portal.url + page, timeout=30).text)
            urls = [portal.url + "/", portal.url + page, portal.url + "/your-data/"]
            asked = 0
            while answered[0] < total:
                if asked % 50 == 49:
                    status = client.post(
                        portal.url + page + "refresh/", headers={"X-CSRFToken": token}, timeout=30
                    ).status_code
                else:
                    status = client.get(urls[asked % 3], timeout=30).status_code
                asked += 1
                with lock:
                    answered[0] += 1
                    errors[0] += status >= 400

        threads = [threading.Thread(target=customer, args=(n,)) for n in range(CUSTOMERS)]
        for thread in threads:
            thread.start()
        started, mark = time.monotonic(), 0
        while any(thread.is_alive() for thread in threads):
            if answered[0] >= mark:
                _print_rss(portal.master, answered[0], time.monotonic() - started)
                mark += EVERY
            time.sleep(0.5)
        _print_rss(portal.master, answered[0], time.monotonic() - started)
        say(f"{errors[0]} answers with a status of 400 or more.")
    return 0


def _print_rss(master: int, answered: int, seconds: float) -> None:
    rss = [procfs.rss_kb(pid) // 1024 for pid in procfs.children(master)]
    say(f"{answered:>7,} requests, {seconds:4.0f} s: RSS per worker {rss} MB")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 40_000))
