"""The email that confirms a customer's wish to delete their account: made in the worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import links
from business import emails as texts
from outbox import kinds
from outbox import services as outbox
from outbox.kinds import Message

DELETE_LINK = "account_delete_link"
PURPOSE = "delete-account"


def delete_link_send(*, user: Any) -> None:
    """Queue the confirmation link to the customer's own address (ids only in the task)."""
    outbox.email_queue(kind=DELETE_LINK, user_id=user.pk, email=user.email, priority=outbox.URGENT)


def delete_link_token(*, user: Any) -> str:
    expires = timezone.now() + dt.timedelta(minutes=settings.SIGN_IN_LINK_MINUTES)
    return links.token_create(user=user, purpose=PURPOSE, expires=expires)


def delete_link_user(*, token: str) -> Any:
    """The account a confirmation link is for, or None when it is altered or expired."""
    found = links.token_read(token=token, purpose=PURPOSE)
    return found.user if found is not None else None


def delete_link_render(user_id: int, params: dict[str, Any]) -> Message | None:
    user = links.sign_in_link_customer(user_id=user_id)
    if user is None:
        return None
    link = settings.PORTAL_URL + reverse(
        "privacy_delete_link", kwargs={"token": delete_link_token(user=user)}
    )
    values = {
        "first_name": user.first_name,
        "link": link,
        "minutes": settings.SIGN_IN_LINK_MINUTES,
    }
    made = texts.email_render(kind=DELETE_LINK, values=values)
    return Message(to=user.email, subject=made.subject, body=made.body, html=made.html)


def register() -> None:
    kinds.kind_register(DELETE_LINK, delete_link_render)
    # Its wording staff may change in the admin, as the other emails' (business.emails).
    texts.kind_register(
        texts.EmailKind(
            name=DELETE_LINK,
            label="Account deletion link",
            subject_template="privacy/emails/delete_link_subject.txt",
            body_template="privacy/emails/delete_link_body.txt",
            placeholders={
                "first_name": "the customer's first name (may be empty)",
                "link": "the link that confirms the deletion (required)",
                "minutes": "how many minutes the link works",
            },
            links=("link",),
            required=("link",),
        )
    )
