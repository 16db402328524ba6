"""The kinds of email the outbox sends, and the recurring jobs it runs: registered by the apps.

The outbox imports none of our apps. Each app registers, in its AppConfig.ready(), how to make
its emails (a function from a user id and a few safe values to a Message) and its recurring
jobs, so the worker can render at send time from ids alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class Message:
    """One email, made by the worker just before sending; never stored."""

    to: str
    subject: str
    body: str
    html: str = ""
    # Files sent with it: (filename, content, MIME type), e.g. a calendar file.
    attachments: tuple[Attachment, ...] = ()
    # Called once the mail server has accepted the email (a sign-in link spends the older one).
    on_sent: Callable[[], None] | None = None


# (user id, params) -> the email, or None when there is no longer anyone to send it to.
Renderer = Callable[[int, dict[str, Any]], Message | None]


@dataclass(frozen=True)
class Job:
    name: str
    # Does the work and says what it removed: {"lead deliveries": 12}.
    run: Callable[[], dict[str, int]]
    # Seconds; None means OUTBOX_SCHEDULE_PERIOD (daily by default).
    period: int | None = None


_renderers: dict[str, Renderer] = {}
_jobs: dict[str, Job] = {}
_sender_name: list[Callable[[], str]] = []


def kind_register(name: str, render: Renderer) -> None:
    """Say how to make emails of this kind (called from an app's ready())."""
    _renderers[name] = render


def kind_renderer(name: str) -> Renderer | None:
    return _renderers.get(name)


def sender_name_register(name: Callable[[], str]) -> None:
    """Say what name emails come from, read at send time (the business's settings)."""
    _sender_name[:] = [name]


def sender_name() -> str:
    return _sender_name[0]() if _sender_name else ""


def job_register(job: Job) -> None:
    """Run `job` on the schedule (called from an app's ready())."""
    _jobs[job.name] = job


def jobs() -> list[Job]:
    return list(_jobs.values())


# --- What may be stored and shown ------------------------------------------------------------

_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]{}]+@[^\s<>\"'(),;:\[\]{}]+")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def masked_email(email: str) -> str:
    """j•••@example.com: enough to recognise one's own address, not to read someone else's."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}\u2022\u2022\u2022@{domain}"


def error_text(exc: BaseException) -> str:
    """An error as staff may see it: its class and message, with addresses and links taken out."""
    message = _URL.sub("<link>", str(exc))
    message = _ADDRESS.sub("<address>", message)
    return f"{type(exc).__name__}: {message}"[:300]
