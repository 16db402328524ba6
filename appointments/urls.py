from __future__ import annotations

from django.urls import path, re_path

from appointments.views import pages as views

urlpatterns = [
    path("", views.home, name="home"),
    path("book/<slug:slug>/", views.session_start, name="session_start"),
    path("book/<slug:slug>/link/", views.booking_link_start, name="booking_link_start"),
    path("book/<slug:slug>/link/<str:token>/", views.booking_link, name="booking_link"),
    path("book/<slug:slug>/session/<uuid:session_id>/", views.session_page, name="session_page"),
    # The URL kwarg is named `token`, so the access log masks it. The trailing slash is optional:
    # a URL pasted into FLG without it must not meet a redirect that drops the body.
    path("flg/webhooks/leads/<str:token>/", views.lead_webhook, name="lead_webhook"),
    re_path(r"^flg/webhooks/leads/(?P<token>[^/]+)\Z", views.lead_webhook),
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
