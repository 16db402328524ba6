"""Queueing emails in a request, and sending them in the worker with retries and a record.

A request only queues: a record (kind, user id, masked address) and, once its transaction has
committed, a task carrying the record's id. The worker makes the email from ids at send time
(outbox.kinds), sends it, and retries with backoff for OUTBOX_RETRY_FOR before giving up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import replace
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task_backends
from django_tasks_db.models import DBTaskResult

from outbox import kinds
from outbox.models import EmailRecord

logger = logging.getLogger("outbox")

# Sign-in links and resets go before a run of 35,000 invitations.
URGENT, NORMAL, BULK = 10, 0, -10
BATCH_SIZE = 2000
# Tries of a bulk run's expansion the database refused, before its task fails for good.
EXPAND_ATTEMPTS = 8
ANALYZE_AFTER = 1000


def on_commit(callback: Any) -> None:
    """Run `callback` once the current transaction commits (at once outside one)."""
    transaction.on_commit(callback)


def email_queue(
    *,
    kind: str,
    user_id: int,
    email: str,
    params: dict[str, Any] | None = None,
    priority: int = NORMAL,
    batch: str = "",
    to_former_address: bool = False,
) -> EmailRecord:
    """Queue one email of `kind` for the user; sent by the worker once this transaction commits.

    `email` is only masked for the record: the worker reads the address again at send time.
    With `to_former_address`, `email` is one the account no longer has (it is told that the
    address changed): then it is kept on the record until the email is sent or fails for good.
    """
    record = EmailRecord.objects.create(
        kind=kind,
        user_id=user_id,
        recipient=kinds.masked_email(email),
        address=email if to_former_address else "",
        params=params or {},
        batch=batch,
    )
    from outbox import tasks

    on_commit(lambda: tasks.email_send.using(priority=priority).enqueue(record.pk))
    return record


def email_queue_none(*, priority: int = URGENT) -> None:
    """For an address nobody has: the same trip to the queue as a real email, and no email.

    A form that emails only known addresses must take the same time for unknown ones.
    """
    from outbox import tasks

    on_commit(lambda: tasks.nothing.using(priority=priority).enqueue())


def emails_queue(*, kind: str, user_ids: Iterable[int], batch: str, priority: int = BULK) -> int:
    """Queue one email of `kind` for each user, in the background: returns at once.

    The request writes one task per BATCH_SIZE users (their ids); the worker turns each into
    the email records and their tasks (`emails_expand`), so 35,000 invitations never hold it.
    """
    from outbox import tasks

    ids = list(user_ids)
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        on_commit(
            lambda chunk=chunk: tasks.emails_expand.using(priority=priority).enqueue(
                kind, chunk, batch, priority
            )
        )
    return len(ids)


def emails_expand(
    *, kind: str, user_ids: list[int], batch: str, priority: int, attempt: int = 1
) -> int:
    """In the worker: a record and a send task for each active user of a bulk run.

    A transaction the database refused (a lock, a deadlock) leaves the run queued for another
    try, never lost: a failed task is not run again, and nothing else would remember the run.
    """
    from outbox import tasks

    users = (
        get_user_model()
        ._default_manager.filter(pk__in=user_ids, is_active=True)
        # Run again after a worker died mid-way: nobody of the run gets two.
        .exclude(pk__in=EmailRecord.objects.filter(batch=batch).values("user_id"))
        .values_list("pk", "email")
        .order_by("pk")
    )
    try:
        with transaction.atomic():
            created = EmailRecord.objects.bulk_create(
                [
                    EmailRecord(
                        kind=kind, user_id=pk, recipient=kinds.masked_email(email), batch=batch
                    )
                    for pk, email in users
                ],
                batch_size=BATCH_SIZE,
            )
            tasks.email_send_many([record.pk for record in created], priority=priority)
    except OperationalError as exc:
        if attempt >= EXPAND_ATTEMPTS:
            raise
        when = timezone.now() + retry_delay(attempt=attempt)
        tasks.emails_expand.using(priority=priority, run_after=when).enqueue(
            kind, user_ids, batch, priority, attempt=attempt + 1
        )
        logger.warning(
            "Bulk run %s: %d %s email(s) not queued (attempt %d), trying again at %s: %s",
            batch,
            len(user_ids),
            kind,
            attempt,
            when.isoformat(timespec="seconds"),
            kinds.error_text(exc),
        )
        return 0
    if connection.vendor == "postgresql" and len(created) >= ANALYZE_AFTER:
        # Thousands of new rows: without fresh statistics the planner sorts the whole queue
        # for every task taken (70 ms instead of 0.1) until autovacuum gets to it.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DBTaskResult._meta.db_table}")
    return len(created)


# --- In the worker ---------------------------------------------------------------------------


def retry_delay(*, attempt: int) -> dt.timedelta:
    """How long to wait after the `attempt`th failure: 1, 2, 4 … minutes, up to the maximum."""
    seconds = settings.OUTBOX_RETRY_FIRST_DELAY * 2 ** max(0, attempt - 1)
    return dt.timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_DELAY))


def from_address() -> str:
    """DEFAULT_FROM_EMAIL's address, under the sender name staff chose if they chose one."""
    chosen = kinds.sender_name()
    if not chosen:
        return str(settings.DEFAULT_FROM_EMAIL)
    return formataddr((chosen, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))


def _send(message: kinds.Message) -> None:
    email = EmailMultiAlternatives(message.subject, message.body, from_address(), [message.to])
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for attachment in message.attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    email.send()


def email_deliver(*, record_id: int) -> str:
    """Make and send the recorded email once; on failure, queue a retry or mark it failed.

    Returns what happened (sent, retry, failed, skipped), for the task's result.
    """
    record = EmailRecord.objects.filter(pk=record_id).first()
    if record is None or record.status != EmailRecord.Status.QUEUED:
        return "skipped"
    # Claim this attempt: a second worker running the same record finds the count moved on.
    claimed = EmailRecord.objects.filter(
        pk=record.pk, status=EmailRecord.Status.QUEUED, attempts=record.attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    record.attempts += 1
    render = kinds.kind_renderer(record.kind)
    try:
        if render is None:
            raise LookupError(f"No email kind {record.kind!r} is registered.")
        message = render(record.user_id, dict(record.params))
        if message is None:
            _finish(record, EmailRecord.Status.FAILED, "Nobody to send to: the account is gone.")
            return "failed"
        _send(replace(message, to=record.address) if record.address else message)
    except Exception as exc:
        return _failed(record, exc)
    with transaction.atomic():
        _finish(record, EmailRecord.Status.SENT, "")
        if message.on_sent is not None:
            message.on_sent()
    logger.info("Email %s (%s) sent to user %s", record.pk, record.kind, record.user_id)
    return "sent"


def _finish(record: EmailRecord, status: str, error: str) -> None:
    EmailRecord.objects.filter(pk=record.pk).update(
        status=status,
        last_error=error,
        finished_at=timezone.now(),
        next_attempt_at=None,
        address="",
    )


def _failed(record: EmailRecord, exc: Exception) -> str:
    from outbox import tasks

    error = kinds.error_text(exc)
    when = timezone.now() + retry_delay(attempt=record.attempts)
    give_up_at = record.queued_at + dt.timedelta(seconds=settings.OUTBOX_RETRY_FOR)
    # A backend that cannot run a task later (django-tasks' immediate one) gets no retry.
    can_wait = task_backends[tasks.email_send.backend].supports_defer
    if when > give_up_at or not can_wait:
        _finish(record, EmailRecord.Status.FAILED, error)
        logger.error(
            "Email %s (%s) to user %s failed for good after %d attempt(s): %s",
            record.pk,
            record.kind,
            record.user_id,
            record.attempts,
            error,
        )
        return "failed"
    with transaction.atomic():
        EmailRecord.objects.filter(pk=record.pk).update(last_error=error, next_attempt_at=when)
        tasks.email_send.using(run_after=when, priority=NORMAL).enqueue(record.pk)
    logger.warning(
        "Email %s (%s) to user %s not sent (attempt %d), trying again at %s: %s",
        record.pk,
        record.kind,
        record.user_id,
        record.attempts,
        when.isoformat(timespec="seconds"),
        error,
    )
    return "retry"
