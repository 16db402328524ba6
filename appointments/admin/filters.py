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
