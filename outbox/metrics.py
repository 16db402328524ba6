"""The queue and the emails, for Prometheus: read from the database at each scrape.

Read rather than counted, so /metrics on any web replica shows the worker's work too (the
worker runs in its own process or pod). No label carries an address or a user.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min, Sum
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from outbox.models import EmailRecord, WorkerBeat

logger = logging.getLogger("outbox.metrics")

WORKER_SEEN_SECONDS = 60


def worker_last_seen() -> dt.datetime | None:
    """When any worker last recorded its heartbeat."""
    return WorkerBeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()


def worker_seen_recently() -> bool:
    seen = worker_last_seen()
    return seen is not None and (timezone.now() - seen).total_seconds() <= WORKER_SEEN_SECONDS


class OutboxCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Read whole before yielding: with the database out, the page still serves the rest.
        try:
            families = list(self._families())
        except DatabaseError as exc:
            logger.warning("Outbox metrics left out: database unavailable (%s)", type(exc).__name__)
            return
        yield from families

    def _families(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        ready = DBTaskResult.objects.ready().aggregate(n=Count("id"), oldest=Min("enqueued_at"))
        depth = GaugeMetricFamily(
            "portal_queue_depth", "Tasks ready to run and not yet taken by a worker."
        )
        depth.add_metric([], ready["n"] or 0)
        yield depth
        oldest = GaugeMetricFamily(
            "portal_queue_oldest_seconds",
            "Age in seconds of the oldest task ready to run (0 when none is waiting).",
        )
        oldest.add_metric([], (now - ready["oldest"]).total_seconds() if ready["oldest"] else 0)
        yield oldest

        by_status = {s: 0 for s in EmailRecord.Status.values}
        for row in EmailRecord.objects.values("status").annotate(n=Count("id")).order_by():
            by_status[row["status"]] = row["n"]
        attempts = EmailRecord.objects.aggregate(total=Sum("attempts"))["total"] or 0
        emails = GaugeMetricFamily(
            "portal_emails",
            "Email records kept (OUTBOX_RECORD_DAYS), by status.",
            labels=["status"],
        )
        for status, count in by_status.items():
            emails.add_metric([status], count)
        yield emails
        sends = GaugeMetricFamily(
            "portal_email_sends",
            "Send attempts over the kept records, by outcome: sent, retry (failed, tried again "
            "later), failed (given up).",
            labels=["outcome"],
        )
        finished = by_status["sent"] + by_status["failed"]
        sends.add_metric(["sent"], by_status["sent"])
        sends.add_metric(["retry"], max(0, attempts - finished))
        sends.add_metric(["failed"], by_status["failed"])
        yield sends

        seen = worker_last_seen()
        age = GaugeMetricFamily(
            "portal_worker_last_seen_seconds",
            "Seconds since a worker last recorded its heartbeat (-1: never).",
        )
        age.add_metric([], (now - seen).total_seconds() if seen else -1)
        yield age
