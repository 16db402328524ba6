"""Notices about an account sent to its owner: a change they should know of, in plain words."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

logger = logging.getLogger("accounts.notices")


def email_changed_notice_send(*, old_email: str, first_name: str = "") -> bool:
    """Tell the old address that the account now signs in with another one; False if unsent.

    The new address is not named: the old one may no longer be its owner's.
    """
    context = {
        "first_name": first_name,
        "portal_name": settings.PORTAL_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "support_phone": settings.PORTAL_SUPPORT_PHONE,
    }
    subject = render_to_string("accounts/emails/email_changed_subject.txt", context).strip()
    body = render_to_string("accounts/emails/email_changed_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [old_email])
    except Exception:
        # The change is made; a mail server that refuses must not undo it or fail the caller.
        logger.exception("Could not send the email-change notice")
        return False
    return True
