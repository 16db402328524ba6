"""The list filters of the record admins: a session's state and claim, a failure's kind."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from flg.errors import ErrorCode


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "open":
            return queryset.filter(closes_at__gt=now)
        if self.value() == "closed":
            return queryset.filter(closes_at__lte=now)
        return queryset


class BookedFilter(admin.SimpleListFilter):
    title = "booked (customer's claim)"
    parameter_name = "booked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Reported booked"), ("no", "Not reported")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(booked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(booked_at__isnull=True)
        return queryset


class FailureCodeFilter(admin.SimpleListFilter):
    title = "what"
    parameter_name = "code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return ErrorCode.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(code=self.value()) if self.value() else queryset


class _YesNever(admin.SimpleListFilter):
    """A customer filter on whether something ever happened: "yes" or "never"."""

    yes = "Yes"
    never = "Never"
    lookup = ""  # the field that is empty until it happens

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", self.yes), ("never", self.never)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(**{f"{self.lookup}__isnull": False})
        if self.value() == "never":
            return queryset.filter(**{f"{self.lookup}__isnull": True})
        return queryset


class InvitedFilter(_YesNever):
    title = "invited"
    parameter_name = "invited"
    yes, never = "Invited", "Not invited"
    lookup = "invited_at"


class SignedInFilter(_YesNever):
    title = "signed in"
    parameter_name = "signed_in"
    yes, never = "Has signed in", "Never signed in"
    lookup = "user__last_login"


class CustomerBookedFilter(_YesNever):
    title = "booked (customer's claim)"
    parameter_name = "booked"
    yes, never = "Reported a booking", "Never reported one"
    lookup = "last_booked"


class FlgStatusFilter(admin.SimpleListFilter):
    """The lead's status as FLG last sent it; "No status" names the empty one."""

    title = "FLG lead status"
    parameter_name = "flg_status"
    NONE = "-"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        statuses = (
            model_admin.model.objects.exclude(flg_status="")
            .order_by("flg_status")
            .values_list("flg_status", flat=True)
            .distinct()
        )
        return [(status, status) for status in statuses] + [(self.NONE, "No status")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == self.NONE:
            return queryset.filter(flg_status="")
        return queryset.filter(flg_status=self.value()) if self.value() else queryset
