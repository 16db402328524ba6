"""What the outbox keeps: one record per email (for staff, without a token or an address), the
last run of each recurring job, and when each worker was last seen."""

from __future__ import annotations

from django.db import models


class EmailRecord(models.Model):
    """One email asked for: queued, then sent or failed. Never its link or body, and a full
    address only while a notice to an address the account no longer has waits to go out."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    kind = models.CharField(max_length=40)
    user_id = models.BigIntegerField(db_index=True)
    # As accounts shows it: j•••@example.com.
    recipient = models.CharField(max_length=260)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # The class of the last error and its message with every address taken out.
    last_error = models.CharField(max_length=300, blank=True)
    # Emails queued together (an invitation run): staff follow its progress by it.
    batch = models.CharField(max_length=40, blank=True, db_index=True)
    # Only for an email to an address the account no longer signs in with (the notice that
    # the address changed goes to the old one): kept until it is sent or fails for good.
    address = models.EmailField(max_length=254, blank=True)
    # The few safe values the email is made from (a `next` path): ids and paths only.
    params = models.JSONField(default=dict, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["status", "queued_at"], name="outbox_status_queued")]

    def __str__(self) -> str:
        return f"{self.kind} email to user {self.user_id} ({self.status})"


class JobRun(models.Model):
    """A recurring job's run for one period: the unique key makes it run once per period."""

    job = models.CharField(max_length=60)
    period = models.BigIntegerField()  # seconds since the epoch // the job's period
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="outbox_job_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.job} ({self.period})"


class WorkerBeat(models.Model):
    """A worker's last sign of life, so /readyz and /metrics can say one is running."""

    worker_id = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id}"
