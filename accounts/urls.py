from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views
from accounts.forms import AccountPasswordResetForm, EmailLoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path(
        "password_reset/",
        views.PasswordResetView.as_view(form_class=AccountPasswordResetForm),
        name="password_reset",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("invite/new/", views.InviteRenewView.as_view(), name="invite_renew"),
    path("invite/<uidb64>/<token>/", views.InviteAcceptView.as_view(), name="invite_accept"),
    path("", include("django.contrib.auth.urls")),
]
