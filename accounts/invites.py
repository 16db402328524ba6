"""Invitations: a new customer gets a link to choose a password, which then signs them in.

New customers have no usable password, and Django's "Forgotten your password?" skips such
accounts, so a customer whose invitation expired asks for a new one (`invite_renew`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.models import Customer

logger = logging.getLogger("appointments.invites")


@dataclass(frozen=True)
class InviteResult:
    sent: int = 0
    failed: list[str] = field(default_factory=list)


def invite_url(*, customer: Customer, base_url: str) -> str:
    """The one-time link for this customer, under the portal's base URL."""
    user = customer.user
    path = reverse(
        "invite_accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return base_url.rstrip("/") + path


def invite_send(*, customer: Customer, base_url: str) -> None:
    """Email the customer their invitation to choose a password."""
    context = {
        "customer": customer,
        "link": invite_url(customer=customer, base_url=base_url),
        "renew_link": base_url.rstrip("/") + reverse("invite_renew"),
        "portal_name": settings.PORTAL_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "support_phone": settings.PORTAL_SUPPORT_PHONE,
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    subject = render_to_string("appointments/emails/invite_subject.txt", context).strip()
    body = render_to_string("appointments/emails/invite_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.user.email])


def invites_send(*, customers: Iterable[Customer], base_url: str) -> InviteResult:
    """Invite each customer; one address the mail server refuses does not stop the others."""
    sent, failed = 0, []
    for customer in customers:
        try:
            invite_send(customer=customer, base_url=base_url)
        except Exception:
            # The customers are already imported; staff re-send from the list of failures.
            logger.exception("Could not send an invitation to customer %s", customer.pk)
            failed.append(customer.user.email)
        else:
            sent += 1
    return InviteResult(sent=sent, failed=failed)


def invite_renew(*, email: str, base_url: str) -> None:
    """Send a fresh invitation to the active customer with this email, if there is one.

    Says nothing either way, so the form cannot be used to find out who is a customer.
    """
    customer = (
        Customer.objects.select_related("user")
        .filter(user__email__iexact=email.strip(), user__is_active=True)
        .first()
    )
    if customer is None:
        return
    invites_send(customers=[customer], base_url=base_url)
