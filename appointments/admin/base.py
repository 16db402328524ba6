"""What the admins share: the read-only base for records, the history tables, the invites note."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from accounts import invites
from appointments.models import AppointmentSession, FlgFailure, LeadDelivery

RECENT = 10


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record the portal writes (a session, a failure, a delivery): staff read, never edit."""

    # Whether staff may delete a row; the sessions admin keeps every row.
    deletable = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


def failures_table(failures: QuerySet[FlgFailure]) -> str:
    rows = failures.select_related("appointment_type", "customer__user")[:RECENT]
    return render_to_string("admin/appointments/includes/failures_table.html", {"rows": rows})


def deliveries_table(deliveries: QuerySet[LeadDelivery]) -> str:
    rows = deliveries[:RECENT]
    return render_to_string("admin/appointments/includes/deliveries_table.html", {"rows": rows})


def sessions_table(sessions: QuerySet[AppointmentSession]) -> str:
    rows = sessions.select_related("appointment_type")[:RECENT]
    return render_to_string("admin/appointments/includes/sessions_table.html", {"rows": rows})


def invites_queued(queued: invites.InviteResult) -> str:
    """What staff are told: how many went to the queue, and where to follow them."""
    progress = (
        reverse("admin:outbox_emailrecord_changelist") + "?" + urlencode({"batch": queued.batch})
    )
    return format_html(
        "{} invitation(s) queued; the worker sends them in the background. Each link works "
        'once, for {} days. <a href="{}">Follow them (queued, sent, failed)</a>.',
        queued.queued,
        settings.PASSWORD_RESET_TIMEOUT // 86400,
        progress,
    )
