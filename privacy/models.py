"""What privacy keeps: one record per erasure, so staff see who was erased, when and by whom."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Erasure(models.Model):
    """A customer erased (privacy.erasure): never their name or email, only ids and counts."""

    class Reason(models.TextChoices):
        STAFF = "staff", "Erased by staff"
        CUSTOMER = "customer", "Deleted by the customer"
        RETENTION = "retention", "Anonymised after long inactivity"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, db_index=True)
    # The customer row stays, anonymous, so sessions and counts stay true.
    customer_id = models.BigIntegerField("customer id", db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who erased the customer; empty when it was not staff.",
    )
    lead_id_kept = models.CharField(
        "FLG lead id kept",
        max_length=20,
        blank=True,
        help_text=(
            "Kept so that FLG's lead webhook never re-creates the customer: a delivery for "
            "this lead is skipped. Empty when the lead id was dropped too."
        ),
    )
    removed = models.CharField(
        "what went", max_length=300, blank=True, help_text="Records removed or emptied, by kind."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"Customer {self.customer_id}: {self.get_reason_display()} at {when}"
