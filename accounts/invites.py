"""Invitations: a new account gets a sign-in link, and a link to choose a password instead.

The sign-in link is the main way in (accounts.links); it lasts as long as the invitation, and
works once like any sign-in link. Choosing a password also signs the customer in.

New customers have no usable password, and Django's "Forgotten your password?" skips such
accounts, so a customer whose invitation expired asks for a new one (`invite_renew`).

An invitation's token is its own (`invite_token_generator`, a salt of its own): the invitation
URL signs its account in, so a password-reset token must not work there, nor an invitation
token at the reset URL. Invitations emailed before it had reset tokens; their "choose a
password" link now says it has expired and offers a new one, while the sign-in link in the same
email still works for its days. Staff accounts are never invited (links never sign staff in).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import links, services

logger = logging.getLogger("accounts.invites")


class InviteTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens under a salt of their own: spent once a password is chosen, good
    for PASSWORD_RESET_TIMEOUT, and worthless at the password-reset URL (and the reverse)."""

    key_salt = "accounts.invites.InviteTokenGenerator"


invite_token_generator = InviteTokenGenerator()


@dataclass(frozen=True)
class InviteResult:
    sent: int = 0
    failed: list[str] = field(default_factory=list)


def email_context() -> dict[str, Any]:
    """What every email to a customer names: the portal, its address and whom to ask."""
    return {
        "portal_name": settings.PORTAL_NAME,
        "portal_url": settings.PORTAL_URL,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "support_phone": settings.PORTAL_SUPPORT_PHONE,
    }


def invite_url(*, user: User, base_url: str) -> str:
    """The one-time link for this account, under the portal's base URL."""
    path = reverse(
        "invite_accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": invite_token_generator.make_token(user),
        },
    )
    return base_url.rstrip("/") + path


def invite_send(*, user: User, base_url: str) -> None:
    """Email the account's owner their invitation: a sign-in link, or choose a password."""
    context = {
        **email_context(),
        "user": user,
        "sign_in_link": links.sign_in_link_url(
            user=user,
            base_url=base_url,
            valid_for=dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
        ),
        "link": invite_url(user=user, base_url=base_url),
        "renew_link": base_url.rstrip("/") + reverse("invite_renew"),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    subject = render_to_string("accounts/emails/invite_subject.txt", context).strip()
    body = render_to_string("accounts/emails/invite_body.txt", context)
    # The HTML part leads with the sign-in link as a button; the text part says the same.
    html = render_to_string("accounts/emails/invite_body.html", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], html_message=html)


def invites_send(*, users: Iterable[User], base_url: str) -> InviteResult:
    """Invite each account; one address the mail server refuses does not stop the others."""
    sent, failed = 0, []
    for user in users:
        try:
            invite_send(user=user, base_url=base_url)
        except Exception:
            # The accounts already exist; staff re-send from the list of failures.
            logger.exception("Could not send an invitation to user %s", user.pk)
            failed.append(user.email)
        else:
            sent += 1
    return InviteResult(sent=sent, failed=failed)


def invite_renew(*, email: str, base_url: str) -> None:
    """Send a fresh invitation to the active customer with this email, if there is one.

    Says nothing either way, so the form cannot be used to find out who is a customer.
    """
    user = services.user_for_email(email, active_only=True)
    # Customers only (the reverse side of Customer.user): staff accounts are not invited.
    if user is not None and hasattr(user, "customer"):
        invites_send(users=[user], base_url=base_url)
