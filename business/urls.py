from __future__ import annotations

from django.urls import path

from business import views

app_name = "business"

urlpatterns = [
    path("brand-<int:version>.css", views.brand_css, name="brand_css"),
    path("logo-<int:version>.png", views.logo, name="logo"),
]
