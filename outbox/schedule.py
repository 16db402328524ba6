"""Recurring jobs, run by the worker itself: no cron anywhere the worker runs.

Each worker looks every minute for jobs whose period has begun; the first to insert the
(job, period) row queues the job, so with any number of replicas a job runs once per period.
Jobs are registered by the apps (outbox.kinds.job_register); the outbox adds its own below.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from outbox import kinds
from outbox.models import EmailRecord, JobRun, WorkerBeat

logger = logging.getLogger("outbox.schedule")

# A worker not seen for this long is gone; a task it was running is queued again.
WORKER_GONE_SECONDS = 120
# A queued email with no task this late past its time gets one again.
STALLED_SECONDS = 600
RECOVER_PERIOD = 300


def _period(job: kinds.Job) -> int:
    return job.period or settings.OUTBOX_SCHEDULE_PERIOD


def jobs_due(*, now: dt.datetime | None = None) -> list[str]:
    """Queue each job whose period has begun and that no worker has queued yet; their names."""
    from outbox import tasks

    now = now or timezone.now()
    queued = []
    for job in kinds.jobs():
        period = int(now.timestamp()) // _period(job)
        if JobRun.objects.filter(job=job.name, period=period).exists():
            continue
        try:
            with transaction.atomic():
                JobRun.objects.create(job=job.name, period=period)
                tasks.job_run.enqueue(job.name)
        except IntegrityError:
            continue  # another worker queued it first
        queued.append(job.name)
    return queued


def job_execute(*, name: str) -> dict[str, int]:
    """Run the job now; log and record what it removed, by kind and count."""
    job = next((j for j in kinds.jobs() if j.name == name), None)
    if job is None:
        logger.error("No recurring job %r is registered", name)
        return {}
    removed = job.run()
    summary = ", ".join(f"{count} {what}" for what, count in removed.items()) or "nothing"
    logger.info("Recurring job %s: %s", name, summary)
    latest = JobRun.objects.filter(job=name).order_by("-period").first()
    if latest is not None:
        JobRun.objects.filter(pk=latest.pk).update(finished_at=timezone.now(), result=summary[:300])
    return removed


# --- The outbox's own jobs ---------------------------------------------------------------------


def email_records_prune() -> dict[str, int]:
    """Sent and failed email records older than OUTBOX_RECORD_DAYS."""
    cutoff = timezone.now() - dt.timedelta(days=settings.OUTBOX_RECORD_DAYS)
    deleted, _ = EmailRecord.objects.filter(
        finished_at__lt=cutoff, status__in=[EmailRecord.Status.SENT, EmailRecord.Status.FAILED]
    ).delete()
    return {"email records": deleted}


def task_results_prune() -> dict[str, int]:
    """Finished task rows older than OUTBOX_TASK_DAYS (as django-tasks-db's prune command)."""
    cutoff = timezone.now() - dt.timedelta(days=settings.OUTBOX_TASK_DAYS)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lte=cutoff).delete()
    old_runs, _ = JobRun.objects.filter(started_at__lt=cutoff).delete()
    return {"finished tasks": deleted, "job runs": old_runs}


def stalled_recover() -> dict[str, int]:
    """Give work lost by a killed worker or a failed write back to the queue.

    A task left running by a worker not seen for WORKER_GONE_SECONDS is made ready again; an
    email still queued long past its time with no task waiting for it gets a new task.
    """
    from outbox import tasks

    now = timezone.now()
    alive = set(
        WorkerBeat.objects.filter(
            seen_at__gte=now - dt.timedelta(seconds=WORKER_GONE_SECONDS)
        ).values_list("worker_id", flat=True)
    )
    orphans = [
        result.pk
        for result in DBTaskResult.objects.running().filter(
            started_at__lt=now - dt.timedelta(seconds=WORKER_GONE_SECONDS)
        )
        if not result.worker_ids or result.worker_ids[-1] not in alive
    ]
    requeued = DBTaskResult.objects.filter(pk__in=orphans).update(status="READY", started_at=None)
    late = now - dt.timedelta(seconds=STALLED_SECONDS)
    candidates = set(
        EmailRecord.objects.filter(status=EmailRecord.Status.QUEUED, queued_at__lt=late)
        .exclude(next_attempt_at__gte=late)
        .values_list("pk", flat=True)
    )
    if candidates:
        waiting = {
            args["args"][0]
            for args in DBTaskResult.objects.filter(
                status__in=["READY", "RUNNING"], task_path=tasks.email_send.module_path
            ).values_list("args_kwargs", flat=True)
        }
        for record_id in sorted(candidates - waiting):
            tasks.email_send.enqueue(record_id)
        candidates -= waiting
    return {"tasks requeued": requeued, "emails requeued": len(candidates)}


kinds.job_register(kinds.Job("prune_email_records", email_records_prune))
kinds.job_register(kinds.Job("prune_task_results", task_results_prune))
kinds.job_register(kinds.Job("recover_stalled", stalled_recover, period=RECOVER_PERIOD))
