"""Making accounts' emails in the worker, from ids: sign-in links, invitations, password resets.

Requests only queue (accounts.links, accounts.invites, accounts.forms); the outbox calls these
at send time, when the links are made, so no token or link is ever stored. Registered with the
outbox in AccountsConfig.ready(). Their wording is staff's when they changed it in the admin
(business.emails), else the shipped templates in templates/accounts/emails/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import forms, invites, links, metrics, notices
from business import emails as texts
from outbox import kinds
from outbox.kinds import Message

_T = "accounts/emails/"
FIRST_NAME = {"first_name": "the customer's first name (may be empty)"}


def _message(user: Any, kind: str, values: dict[str, Any], **more: Any) -> Message:
    made = texts.email_render(kind=kind, values=values, html_context={"user": user})
    return Message(to=user.email, subject=made.subject, body=made.body, html=made.html, **more)


def sign_in_link_render(user_id: int, params: dict[str, Any]) -> Message | None:
    user = links.sign_in_link_customer(user_id=user_id)
    if user is None:
        return None
    base_url = settings.PORTAL_URL
    link, spend_older = links.sign_in_link_make(
        user=user, base_url=base_url, next_url=str(params.get("next", ""))
    )
    values = {
        "first_name": user.first_name,
        "link": link,
        "minutes": settings.SIGN_IN_LINK_MINUTES,
        "new_link": base_url + reverse("sign_in_link_request"),
    }

    def sent() -> None:
        spend_older()
        metrics.sign_in_link_emails.labels("sent").inc()

    return _message(user, links.EMAIL_KIND, values, on_sent=sent)


def invite_render(user_id: int, params: dict[str, Any]) -> Message | None:
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    base_url = settings.PORTAL_URL
    sign_in_link, spend_older = links.sign_in_link_make(
        user=user,
        base_url=base_url,
        valid_for=dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
    )
    values = {
        "first_name": user.first_name,
        "email": user.email,
        "sign_in_link": sign_in_link,
        "link": invites.invite_url(user=user, base_url=base_url),
        "renew_link": base_url + reverse("invite_renew"),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    # The HTML part leads with the sign-in link as a button; the text part says the same.
    return _message(user, invites.EMAIL_KIND, values, on_sent=spend_older)


def password_reset_render(user_id: int, params: dict[str, Any]) -> Message | None:
    """A link to Django's reset page (its token), made at send time."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    values = {"first_name": user.first_name, "link": settings.PORTAL_URL + path}
    made = texts.email_render(kind=forms.PASSWORD_RESET, values=values)
    return Message(to=user.email, subject=made.subject, body=made.body, html=made.html)


def email_changed_render(user_id: int, params: dict[str, Any]) -> Message | None:
    """To the account's former address (the outbox sends it there), naming no new one."""
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        return None
    made = texts.email_render(kind=notices.EMAIL_CHANGED, values={"first_name": user.first_name})
    return Message(to=user.email, subject=made.subject, body=made.body, html=made.html)


def _editable(kind: str, label: str, **spec: Any) -> texts.EmailKind:
    return texts.EmailKind(
        name=kind,
        label=label,
        subject_template=f"{_T}{kind}_subject.txt",
        body_template=f"{_T}{kind}_body.txt",
        **spec,
    )


def register() -> None:
    kinds.kind_register(notices.EMAIL_CHANGED, email_changed_render)
    kinds.kind_register(links.EMAIL_KIND, sign_in_link_render)
    kinds.kind_register(invites.EMAIL_KIND, invite_render)
    kinds.kind_register(forms.PASSWORD_RESET, password_reset_render)
    texts.kind_register(
        _editable(
            links.EMAIL_KIND,
            "Sign-in link",
            placeholders={
                **FIRST_NAME,
                "link": "the one-time sign-in link (required)",
                "minutes": "how many minutes the link works",
                "new_link": "where to ask for a new link",
            },
            links=("link", "new_link"),
            required=("link",),
            html_template=f"{_T}sign_in_link_body.html",
            sample={"minutes": "15"},
        )
    )
    texts.kind_register(
        _editable(
            invites.EMAIL_KIND,
            "Invitation",
            placeholders={
                **FIRST_NAME,
                "email": "the address they sign in with",
                "sign_in_link": "the one-time sign-in link (required)",
                "link": "the link to choose a password",
                "renew_link": "where to ask for new links",
                "days": "how many days the links work",
            },
            links=("sign_in_link", "link", "renew_link"),
            required=("sign_in_link",),
            html_template=f"{_T}invite_body.html",
            sample={"days": "3", "email": "sam@example.com"},
        )
    )
    texts.kind_register(
        _editable(
            forms.PASSWORD_RESET,
            "Password reset",
            placeholders={**FIRST_NAME, "link": "the link to choose a new password (required)"},
            links=("link",),
            required=("link",),
        )
    )
    texts.kind_register(
        _editable(notices.EMAIL_CHANGED, "Email address changed", placeholders=FIRST_NAME)
    )
