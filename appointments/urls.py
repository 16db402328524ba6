from __future__ import annotations

from django.urls import path, re_path

from appointments.views import booking_api, pages, webhook

urlpatterns = [
    path("", pages.home, name="home"),
    path("book/<slug:slug>/", pages.session_start, name="session_start"),
    path("book/<slug:slug>/link/", pages.booking_link_start, name="booking_link_start"),
    path("book/<slug:slug>/link/<str:token>/", pages.booking_link, name="booking_link"),
    path("book/<slug:slug>/session/<uuid:session_id>/", pages.session_page, name="session_page"),
    path(
        "book/<slug:slug>/session/<uuid:session_id>/refresh/",
        booking_api.session_refresh,
        name="session_refresh",
    ),
    path(
        "book/<slug:slug>/session/<uuid:session_id>/booked/",
        booking_api.session_booked,
        name="session_booked",
    ),
    path(
        "book/<slug:slug>/session/<uuid:session_id>/status/",
        booking_api.session_status,
        name="session_status",
    ),
    path(
        "bookings/<uuid:session_id>/appointment.ics",
        pages.booking_calendar,
        name="booking_calendar",
    ),
    # The URL kwarg is named `token`, so the access log masks it. The trailing slash is optional:
    # a URL pasted into FLG without it must not meet a redirect that drops the body.
    path("flg/webhooks/leads/<str:token>/", webhook.lead_webhook, name="lead_webhook"),
    re_path(r"^flg/webhooks/leads/(?P<token>[^/]+)\Z", webhook.lead_webhook),
]
