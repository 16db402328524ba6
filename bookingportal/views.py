"""Pages of the frame itself, shared by every app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form that failed the CSRF check: say so in the portal's layout; nothing changed."""
    return render(request, "403_csrf.html", status=403)
