"""FLG 360's side of the appointment sessions API, kept small and faithful."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone


class AccessKey(models.Model):
    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True)
    allow_appointments = models.BooleanField(
        "Allow access to Appointments",
        default=True,
        help_text=(
            "As the tick box on an access key in FLG 360 (Settings > Configuration > Access Keys)."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or "access key"

    @property
    def key_masked(self) -> str:
        """The key as the sandbox shows it: never whole, the start only of a long one."""
        return (self.key[:4] if len(self.key) >= 12 else "") + "•" * 8


class Lead(models.Model):
    lead_id = models.CharField(max_length=20, unique=True)
    lead_group_id = models.PositiveIntegerField(
        "lead group id",
        null=True,
        blank=True,
        help_text=(
            "Empty only for a lead created on first use (FLG_SANDBOX_AUTO_LEADS) that has not "
            "yet asked for a type of a lead group; it then joins that group."
        ),
    )
    lead_group_name = models.CharField(
        "lead group name", max_length=200, blank=True, help_text="As FLG names the lead group."
    )
    name = models.CharField(
        max_length=200, blank=True, help_text="Full name, when first and last are not given."
    )
    title = models.CharField(max_length=20, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=100, blank=True, help_text="The lead's status in FLG, e.g. Quoted or Dead."
    )

    class Meta:
        ordering = ["lead_id"]

    def __str__(self) -> str:
        return f"Lead {self.lead_id}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.name


class AppointmentType(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=200)
    lead_group_id = models.PositiveIntegerField(
        "lead group id", null=True, blank=True, help_text="Empty: all lead groups."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def new_token() -> str:
    return secrets.token_hex(48)


class Session(models.Model):
    session_id = models.UUIDField(unique=True, default=uuid.uuid4)
    token = models.CharField(max_length=200, unique=True, default=new_token)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="sessions")
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, related_name="sessions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField()
    booked_slot = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Session {self.session_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and self.closes_at > timezone.now()


class ApiCall(models.Model):
    """One row per request to the API endpoint, so tests and benchmarks can count FLG calls."""

    created_at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField()
    lead = models.CharField(max_length=200, blank=True)
    appointment_type = models.CharField(max_length=200, blank=True)
    fault = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = "API call"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.status} at {self.created_at:%H:%M:%S}"


class Fault(models.Model):
    """The one row of fault injection, read on every request so every process sees it."""

    class Mode(models.TextChoices):
        NONE = "none", "None: answer normally"
        TOO_MANY = "429", "429 Too Many Requests"
        ERROR = "500", "500 Internal Server Error"
        UNAVAILABLE = "503", "503 Service Unavailable"
        HANG = "hang", "Hang past the client's timeout"
        MALFORMED = "malformed", "200 with malformed JSON"
        HTML = "html", "200 with an HTML page"

    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.NONE)
    latency_ms = models.PositiveIntegerField(
        "added latency (ms)", default=0, help_text="Added before every API answer."
    )
    hang_seconds = models.PositiveIntegerField(
        default=30, help_text="How long a hang lasts; make it longer than the portal's FLG_TIMEOUT."
    )
    times = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Apply the fault to this many requests, then answer normally. Empty: always.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "fault injection"
        verbose_name_plural = "fault injection"

    def __str__(self) -> str:
        return self.get_mode_display()


class Email(models.Model):
    """An email the portal sent while the sandbox plays the customers' inboxes (demo only)."""

    sender = models.CharField(max_length=300)
    to = models.TextField()
    subject = models.CharField(max_length=998)
    # The plain-text part: shown with its links clickable. The HTML part is kept but never shown.
    body = models.TextField()
    html = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return self.subject
