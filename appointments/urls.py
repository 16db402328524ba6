from __future__ import annotations

from django.urls import path

from appointments import views

urlpatterns = [
    path("", views.home, name="home"),
    path("book/<slug:slug>/", views.session_start, name="session_start"),
    path("book/<slug:slug>/link/", views.booking_link_start, name="booking_link_start"),
    path("book/<slug:slug>/link/<str:token>/", views.booking_link, name="booking_link"),
    path("book/<slug:slug>/session/<uuid:session_id>/", views.session_page, name="session_page"),
    path(
        "book/<slug:slug>/session/<uuid:session_id>/refresh/",
        views.session_refresh,
        name="session_refresh",
    ),
    path(
        "book/<slug:slug>/session/<uuid:session_id>/booked/",
        views.session_booked,
        name="session_booked",
    ),
]
