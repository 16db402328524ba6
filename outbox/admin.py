"""Staff see every email queued, sent and failed: read-only, without a token, link or address."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from outbox.models import EmailRecord, JobRun

RECORD_FIELDS = (
    "kind",
    "recipient",
    "user_id",
    "status",
    "attempts",
    "last_error",
    "batch",
    "params",
    "queued_at",
    "next_attempt_at",
    "finished_at",
)


@admin.register(EmailRecord)
class EmailRecordAdmin(admin.ModelAdmin):
    list_display = [
        "queued_at",
        "kind",
        "recipient",
        "user_id",
        "status",
        "attempts",
        "next_attempt_at",
        "finished_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "batch"]
    # Counts beside each filter: an invitation run's queued, sent and failed at a glance.
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["=user_id", "=batch"]
    date_hierarchy = "queued_at"
    # Counting 35,000 rows on every page is slow on PostgreSQL; the filters say enough.
    show_full_result_count = False
    fields = RECORD_FIELDS
    readonly_fields = RECORD_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["job", "started_at", "finished_at", "result"]
    list_filter = ["job"]
    readonly_fields = ["job", "period", "started_at", "finished_at", "result"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
