from __future__ import annotations

from django.urls import path

from flg_sandbox import views

app_name = "flg_sandbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("api/v2/appointment-sessions", views.api_sessions, name="api_sessions"),
    path("appointments/book/<str:token>", views.book, name="book"),
    path("mailbox/", views.mailbox, name="mailbox"),
    path("mailbox/<int:pk>/", views.mailbox_email, name="mailbox_email"),
]
