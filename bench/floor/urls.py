"""The portal's URLs, then the floor's two pages (bench.floor)."""

from __future__ import annotations

from django.urls import path

from bench.floor import views
from bookingportal.urls import handler400, handler500
from bookingportal.urls import urlpatterns as portal

urlpatterns = [
    *portal,
    path("_floor/signed-in/", views.signed_in),
    path("_floor/home-unrendered/", views.home_unrendered),
]

__all__ = ["handler400", "handler500", "urlpatterns"]
