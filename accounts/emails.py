"""Making accounts' emails in the worker, from ids: sign-in links, invitations, password resets.

Requests only queue (accounts.links, accounts.invites, accounts.forms); the outbox calls these
at send time, when the links are made, so no token or link is ever stored. Registered with the
outbox in AccountsConfig.ready().
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import forms, invites, links, metrics, notices
from outbox import kinds
from outbox.kinds import Message


def _message(user: Any, name: str, context: dict[str, Any], *, html: bool = True) -> Message:
    subject = render_to_string(f"accounts/emails/{name}_subject.txt", context)
    return Message(
        to=user.email,
        # A subject must not hold a line break.
        subject="".join(subject.splitlines()).strip(),
        body=render_to_string(f"accounts/emails/{name}_body.txt", context),
        html=render_to_string(f"accounts/emails/{name}_body.html", context) if html else "",
    )


def sign_in_link_render(user_id: int, params: dict[str, Any]) -> Message | None:
    user = links.sign_in_link_customer(user_id=user_id)
    if user is None:
        return None
    base_url = settings.PORTAL_URL
    link, spend_older = links.sign_in_link_make(
        user=user, base_url=base_url, next_url=str(params.get("next", ""))
    )
    context = {
        **invites.email_context(),
        "user": user,
        "link": link,
        "minutes": settings.SIGN_IN_LINK_MINUTES,
        "new_link": base_url + reverse("sign_in_link_request"),
    }

    def sent() -> None:
        spend_older()
        metrics.sign_in_link_emails.labels("sent").inc()

    message = _message(user, "sign_in_link", context)
    return Message(message.to, message.subject, message.body, message.html, on_sent=sent)


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
    context = {
        **invites.email_context(),
        "user": user,
        "sign_in_link": sign_in_link,
        "link": invites.invite_url(user=user, base_url=base_url),
        "renew_link": base_url + reverse("invite_renew"),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    # The HTML part leads with the sign-in link as a button; the text part says the same.
    message = _message(user, "invite", context)
    return Message(message.to, message.subject, message.body, message.html, on_sent=spend_older)


def password_reset_render(user_id: int, params: dict[str, Any]) -> Message | None:
    """Django's reset email (its templates and token), made at send time."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    context = {
        **invites.email_context(),
        "email": user.email,
        "domain": settings.PORTAL_URL.split("://", 1)[-1],
        "site_name": settings.PORTAL_NAME,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": settings.PORTAL_URL.split("://", 1)[0],
    }
    subject = render_to_string("registration/password_reset_subject.txt", context)
    return Message(
        to=user.email,
        subject="".join(subject.splitlines()).strip(),
        body=render_to_string("registration/password_reset_email.html", context),
    )


def email_changed_render(user_id: int, params: dict[str, Any]) -> Message | None:
    """To the account's former address (the outbox sends it there), naming no new one."""
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        return None
    context = {**invites.email_context(), "first_name": user.first_name}
    return _message(user, "email_changed", context, html=False)


def register() -> None:
    kinds.kind_register(notices.EMAIL_CHANGED, email_changed_render)
    kinds.kind_register(links.EMAIL_KIND, sign_in_link_render)
    kinds.kind_register(invites.EMAIL_KIND, invite_render)
    kinds.kind_register(forms.PASSWORD_RESET, password_reset_render)
