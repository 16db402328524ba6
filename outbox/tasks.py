"""The outbox's tasks. Their arguments are ids and names only: never an address, token or link."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task, task_backends
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max


@task()
def email_send(record_id: int) -> str:
    """Send the recorded email (outbox.services.email_deliver)."""
    from outbox import services

    return services.email_deliver(record_id=record_id)


@task()
def emails_expand(
    kind: str, user_ids: list[int], batch: str, priority: int, attempt: int = 1
) -> int:
    """Turn a bulk run's user ids into email records and send tasks."""
    from outbox import services

    return services.emails_expand(
        kind=kind, user_ids=user_ids, batch=batch, priority=priority, attempt=attempt
    )


@task()
def nothing() -> str:
    """The queue's side of a request for an address nobody has: no email."""
    return "nothing"


@task()
def job_run(name: str) -> dict[str, int]:
    """Run one recurring job (outbox.schedule) and log what it removed."""
    from outbox import schedule

    return schedule.job_execute(name=name)


def email_send_many(record_ids: list[int], *, priority: int) -> None:
    """Queue email_send for each record: rows inserted in batches on the database backend."""
    queued = email_send.using(priority=priority)
    backend = task_backends[queued.backend]
    if not isinstance(backend, DatabaseBackend):
        for record_id in record_ids:
            queued.enqueue(record_id)
        return
    backend.validate_task(queued)
    rows = [
        DBTaskResult(
            args_kwargs={"args": [record_id], "kwargs": {}},
            priority=queued.priority,
            task_path=queued.module_path,
            queue_name=queued.queue_name,
            run_after=get_date_max(),
            backend_name=backend.alias,
        )
        for record_id in record_ids
    ]
    with transaction.atomic():
        DBTaskResult.objects.bulk_create(rows, batch_size=2000)
