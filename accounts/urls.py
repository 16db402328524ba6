from __future__ import annotations

from django.urls import include, path

from accounts import two_factor_views, views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/link/", views.SignInLinkRequestView.as_view(), name="sign_in_link_request"),
    path("login/link/sent/", views.sign_in_link_sent, name="sign_in_link_sent"),
    path("login/link/continue/", views.sign_in_link_continue, name="sign_in_link_continue"),
    path("login/link/<str:token>/", views.sign_in_link, name="sign_in_link"),
    path("password_change/", views.password_change, name="password_change"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password_reset/done/", views.password_reset_done, name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("invite/new/", views.InviteRenewView.as_view(), name="invite_renew"),
    path("invite/sent/", views.invite_renew_done, name="invite_renew_done"),
    path("invite/<uidb64>/<token>/", views.InviteAcceptView.as_view(), name="invite_accept"),
    # Staff only: the second factor the admin asks for after the password.
    path("two-factor/", two_factor_views.verify, name="two_factor_verify"),
    path("two-factor/enrol/", two_factor_views.enrol, name="two_factor_enrol"),
    path(
        "two-factor/recovery-codes/",
        two_factor_views.recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("", include("django.contrib.auth.urls")),
]
