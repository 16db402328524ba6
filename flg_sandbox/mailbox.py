"""The demo's mailbox: an email backend that keeps every email for /sandbox/mailbox/.

Chosen by settings when the sandbox is on and no EMAIL_BACKEND is set; never in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.header import decode_header, make_header

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from flg_sandbox.models import Email

# The mailbox keeps the newest emails only: a demo, not an archive.
KEEP = 500


def _html_part(message: EmailMessage) -> str:
    for content, mimetype in getattr(message, "alternatives", []) or []:
        if mimetype == "text/html":
            return str(content)
    return ""


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        for message in email_messages:
            subject = str(make_header(decode_header(str(message.subject))))
            Email.objects.create(
                sender=str(message.from_email),
                to=", ".join(message.recipients()),
                subject=subject,
                body=str(message.body),
                html=_html_part(message),
            )
            count += 1
        stale = Email.objects.order_by("-sent_at", "-id").values_list("pk", flat=True)[KEEP:]
        Email.objects.filter(pk__in=list(stale)).delete()
        return count
