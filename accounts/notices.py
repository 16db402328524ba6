"""Notices about an account sent to its owner: a change they should know of, in plain words.

Queued like every email (outbox); accounts.emails makes them in the worker.
"""

from __future__ import annotations

from outbox import services as outbox

EMAIL_CHANGED = "email_changed"


def email_changed_notice_send(*, user_id: int, old_email: str) -> None:
    """Queue a note to the old address that the account now signs in with another one.

    The new address is not named: the old one may no longer be its owner's.
    """
    outbox.email_queue(kind=EMAIL_CHANGED, user_id=user_id, email=old_email, to_former_address=True)
