"""The counting pass: FLG calls per start, reload and refresh, counted at the sandbox; then a
start's time one customer at a time, split between the portal and FLG."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench import clients
from bench.clients import TYPE_SLUG
from bench.config import CUSTOMERS
from bench.report import say
from bench.servers import Portal, sandbox_calls
from bench.stats import log_breakdown


@dataclass(frozen=True)
class Calls:
    per_action: dict[str, float]  # flg_calls_per_start, _per_reload, _per_refresh
    alone_ms: list[float]  # wall time of starts, one customer at a time
    alone_split: dict[str, Any]  # the same starts, split between the portal and FLG


def run(portal: Portal) -> Calls:
    say("Counting FLG calls per start, reload and refresh, one customer at a time…")
    per_action = count_calls(portal)
    mark = portal.log.stat().st_size
    alone = one_at_a_time_starts(portal.url)
    alone_split = log_breakdown(portal.log, mark, portal.log.stat().st_size)
    return Calls(per_action=per_action, alone_ms=alone, alone_split=alone_split)


def count_calls(portal: Portal, n: int = 10) -> dict[str, float]:
    """N starts, N reloads, N refreshes, one customer at a time; FLG calls counted at FLG."""
    url, workspace = portal.url, portal.workspace
    customers = [clients.signed_in(url, CUSTOMERS - 1 - i) for i in range(n)]
    before = sandbox_calls(workspace)
    pages = [clients.start(url, client) for client in customers]
    after_starts = sandbox_calls(workspace)
    tokens = []
    for client, page in zip(customers, pages, strict=True):
        tokens.append(clients.page_token(client.get(url + page, timeout=30).text))
    after_reloads = sandbox_calls(workspace)
    for client, page, token in zip(customers, pages, tokens, strict=True):
        answer = client.post(url + page + "refresh/", headers={"X-CSRFToken": token}, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"A refresh answered {answer.status_code}, not 200")
    after_refreshes = sandbox_calls(workspace)
    return {
        "flg_calls_per_start": (after_starts - before) / n,
        "flg_calls_per_reload": (after_reloads - after_starts) / n,
        "flg_calls_per_refresh": (after_refreshes - after_reloads) / n,
    }


def one_at_a_time_starts(portal: str, n: int = 15) -> list[float]:
    """Wall time of real starts (start over), one customer, nothing else running."""
    client = clients.signed_in(portal, CUSTOMERS - 12)
    token = clients.form_token(client.get(portal + "/", timeout=30).text)
    timings = []
    for _ in range(n):
        clock = time.perf_counter()
        answer = client.post(
            portal + f"/book/{TYPE_SLUG}/",
            {"csrfmiddlewaretoken": token, "start_over": "1"},
            allow_redirects=False,
            timeout=30,
        )
        timings.append((time.perf_counter() - clock) * 1000)
        if answer.status_code != 303:
            raise RuntimeError(f"A start answered {answer.status_code}, not 303")
    return timings
