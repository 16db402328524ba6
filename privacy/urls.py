from __future__ import annotations

from django.urls import path

from privacy import views

urlpatterns = [
    path("privacy/", views.privacy_notice, name="privacy_notice"),
    path("your-data/", views.your_data, name="privacy_your_data"),
    path("your-data/download/", views.data_download, name="privacy_download"),
    path("your-data/delete/", views.delete_with_password, name="privacy_delete"),
    path("your-data/delete/email/", views.delete_link_request, name="privacy_delete_email"),
    path("your-data/delete/done/", views.deleted, name="privacy_deleted"),
    path("your-data/delete/confirm/", views.delete_confirm, name="privacy_delete_confirm"),
    # The token is a secret: bookingportal.logging masks it in every line.
    path("your-data/delete/link/<str:token>/", views.delete_link, name="privacy_delete_link"),
]
