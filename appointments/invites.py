"""Invitations: a new customer gets a link to choose a password, which then signs them in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.models import Customer


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
        "portal_name": settings.PORTAL_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "support_phone": settings.PORTAL_SUPPORT_PHONE,
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    subject = render_to_string("appointments/emails/invite_subject.txt", context).strip()
    body = render_to_string("appointments/emails/invite_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.user.email])
