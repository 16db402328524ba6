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

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services
from outbox import services as outbox

logger = logging.getLogger("accounts.invites")


class InviteTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset tokens under a salt of their own: spent once a password is chosen, good
    for PASSWORD_RESET_TIMEOUT, and worthless at the password-reset URL (and the reverse)."""

    key_salt = "accounts.invites.InviteTokenGenerator"

    def _make_hash_value(self, user: AbstractBaseUser, timestamp: int) -> str:
        # Django's hash also holds the last sign-in, so signing in with the sign-in link of the
        # same email would spend this link too, though the email says each works once. Choosing
        # a password (or a new email address) still spends it. An account never signed in
        # hashes as before, so invitations already emailed keep working.
        email = getattr(user, user.get_email_field_name(), "") or ""
        return f"{user.pk}{user.password}{timestamp}{email}"


invite_token_generator = InviteTokenGenerator()


EMAIL_KIND = "invite"


@dataclass(frozen=True)
class InviteResult:
    queued: int = 0
    batch: str = ""


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


def invite_send(*, user: User) -> None:
    """Queue the account owner's invitation: a sign-in link, or choose a password.

    The worker makes the links when it sends (accounts.emails), under PORTAL_URL.
    """
    outbox.email_queue(kind=EMAIL_KIND, user_id=user.pk, email=user.email)


def invites_send(*, users: Iterable[User]) -> InviteResult:
    """Queue an invitation for each account, in batches; the worker sends them.

    Returns the batch, by which staff follow the run in the admin's email list.
    """
    batch = f"invite-{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    queued = outbox.emails_queue(kind=EMAIL_KIND, user_ids=(user.pk for user in users), batch=batch)
    logger.info("Queued %d invitation(s) as batch %s", queued, batch)
    return InviteResult(queued=queued, batch=batch)


def invite_renew(*, email: str) -> None:
    """Queue a fresh invitation for the active customer with this email, if there is one.

    Says nothing either way, and queues the same for an unknown address, so neither the page
    nor its timing tells who is a customer.
    """
    user = services.user_for_email(email, active_only=True)
    # Customers only (the reverse side of Customer.user): staff accounts are not invited.
    if user is not None and hasattr(user, "customer"):
        outbox.email_queue(
            kind=EMAIL_KIND, user_id=user.pk, email=user.email, priority=outbox.URGENT
        )
    else:
        outbox.email_queue_none()
