"""The wording of every email, editable by staff: a registry of the kinds, the sandboxed
template language, checking staff's text on save, and rendering at send time.

An app registers each kind it sends (its name in the outbox, the shipped subject and body,
the placeholders, which of them are links the portal makes, and which links must be there) in
its ready(). Sending renders staff's EmailText when there is one, else the shipped text.
Staff's text makes the plain part; the HTML part is built from it here, escaped, with the
portal's links as the only anchors.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import VariableNode
from django.template.loader import get_template, render_to_string
from django.utils.html import escape, format_html

from business import branding
from business.models import EmailText
from outbox.kinds import Message

logger = logging.getLogger("business")

TEST_KIND = "email_text_test"
SUBJECT_MAX = 200


@dataclass(frozen=True)
class EmailKind:
    name: str
    label: str
    subject_template: str
    body_template: str
    # name -> what it holds, shown to staff beside the text.
    placeholders: Mapping[str, str]
    # Placeholders whose value is a link the portal makes: anchors in the HTML part.
    links: tuple[str, ...] = ()
    # Links the body must keep (a sign-in email without its sign-in link is refused).
    required: tuple[str, ...] = ()
    # The shipped HTML part, sent while staff have not changed the text.
    html_template: str = ""
    # Values for the preview and the test, beyond the shared ones.
    sample: Mapping[str, str] = field(default_factory=dict)


# Every email may name these (branding.email_context()).
SHARED_PLACEHOLDERS = {
    "portal_name": "the portal's name",
    "portal_url": "the portal's address",
    "support_email": "the support email address",
    "support_phone": "the support phone number (may be empty)",
    "opening_hours": "the opening hours (may be empty)",
    "privacy_url": "the privacy notice's address (the portal adds it at the end of every email)",
}

_kinds: dict[str, EmailKind] = {}


def kind_register(spec: EmailKind) -> None:
    """Make this kind of email editable (called from an app's ready())."""
    _kinds[spec.name] = spec


def kind_spec(name: str) -> EmailKind | None:
    return _kinds.get(name)


def kinds_all() -> list[EmailKind]:
    return sorted(_kinds.values(), key=lambda spec: spec.label)


def placeholders_of(spec: EmailKind) -> dict[str, str]:
    return {**SHARED_PLACEHOLDERS, **spec.placeholders}


# --- The sandbox -------------------------------------------------------------------------------


class SandboxEngine(Engine):
    # Not Django's tags and filters: only business.template_sandbox's.
    default_builtins = []


_engine = SandboxEngine(
    builtins=["business.template_sandbox"], autoescape=False, libraries={}, loaders=[]
)


def template_compile(source: str) -> Template:
    return _engine.from_string(source)


def shipped_source(path: str) -> str:
    return str(get_template(path).template.source)  # type: ignore[attr-defined]


def _names_used(template: Template) -> set[str]:
    used = set()
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        var = getattr(node, "filter_expression").var  # noqa: B009
        lookups = getattr(var, "lookups", None)
        if lookups:
            used.add(lookups[0])
    return used


_BARE = "{{{{\\s*{}\\s*}}}}"


def _tag(name: str) -> str:
    return "{{ " + name + " }}"


def text_check(*, kind: str, subject: str, body: str) -> None:
    """Refuse, with the reason, a subject or body that would fail or lose a link at send time."""
    spec = kind_spec(kind)
    if spec is None:
        raise ValidationError(f"No email of kind {kind!r} is sent by this portal.")
    errors: dict[str, list[str]] = {}
    known = placeholders_of(spec)
    for name, source in (("subject", subject), ("body", body)):
        try:
            template = template_compile(source)
        except TemplateSyntaxError as exc:
            errors.setdefault(name, []).append(f"This template has an error: {exc}")
            continue
        unknown = sorted(_names_used(template) - set(known))
        if unknown:
            errors.setdefault(name, []).append(
                "Unknown placeholder(s): "
                + ", ".join(_tag(n) for n in unknown)
                + ". Use only those listed beside the text."
            )
    missing = [n for n in spec.required if not re.search(_BARE.format(re.escape(n)), body)]
    if missing:
        errors.setdefault("body", []).append(
            "The body must keep "
            + " and ".join(_tag(n) for n in missing)
            + ": the portal puts the customer's link there, and without it the email is "
            "useless."
        )
    if errors:
        raise ValidationError(errors)


# --- Rendering ---------------------------------------------------------------------------------


def _render(source: str, values: Mapping[str, Any]) -> str:
    return str(template_compile(source).render(Context(dict(values), autoescape=False)))


def _one_line(text: str) -> str:
    # A subject must not hold a line break.
    return " ".join(text.split())[:SUBJECT_MAX]


def html_from_text(*, spec: EmailKind, source: str, values: Mapping[str, Any]) -> str:
    """The HTML part of staff's text: every character escaped; the portal's links as anchors."""
    markers = {name: f"portallink{secrets.token_hex(8)}" for name in spec.links if values.get(name)}
    marked = str(escape(_render(source, {**values, **markers})))
    for name, marker in markers.items():
        marked = marked.replace(marker, format_html('<a href="{0}">{0}</a>', values[name]))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", marked.strip()) if p.strip()]
    body = "\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return (
        '<!doctype html>\n<html lang="en-GB"><body style="font-family: sans-serif; '
        f'line-height: 1.5;">\n{body}\n</body></html>\n'
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    html: str


PRIVACY_LINE = "How we use your data: {url}"


def _with_privacy_link(made: Rendered, url: str) -> Rendered:
    """Every email ends with the link to the privacy notice, whatever its words: the portal's."""
    body = made.body.rstrip("\n") + "\n\n" + PRIVACY_LINE.format(url=url) + "\n"
    html = made.html
    if html and "</body>" in html:
        link = format_html(
            '<p style="font-size: small; color: #555555;"><a href="{0}">How we use your data</a>'
            "</p>\n",
            url,
        )
        html = html.replace("</body>", f"{link}</body>", 1)
    return Rendered(subject=made.subject, body=body, html=html)


def email_render(
    *, kind: str, values: Mapping[str, Any], html_context: Mapping[str, Any] | None = None
) -> Rendered:
    """The email of `kind` made from `values` (plain strings and numbers): staff's text if they
    saved one, else the shipped text and its HTML part (rendered with `html_context` too); each
    ends with the privacy notice's link."""
    made = _email_render(kind=kind, values=values, html_context=html_context)
    return _with_privacy_link(made, branding.email_context()["privacy_url"])


def _email_render(
    *, kind: str, values: Mapping[str, Any], html_context: Mapping[str, Any] | None = None
) -> Rendered:
    spec = _kinds[kind]
    values = {**branding.email_context(), **values}
    text = EmailText.objects.filter(kind=kind).first()
    if text is not None:
        try:
            return Rendered(
                subject=_one_line(_render(text.subject, values)),
                body=_render(text.body, values),
                html=html_from_text(spec=spec, source=text.body, values=values),
            )
        except Exception:
            # Checked on save, so only a text saved before a check it now fails: the
            # customer still gets their email, in the shipped words.
            logger.exception("Email text %s no longer renders; sent the shipped text", kind)
    html = ""
    if spec.html_template:
        html = render_to_string(spec.html_template, {**values, **(html_context or {})})
    return Rendered(
        subject=_one_line(_render(shipped_source(spec.subject_template), values)),
        body=_render(shipped_source(spec.body_template), values),
        html=html,
    )


def sample_values(spec: EmailKind) -> dict[str, Any]:
    """Made-up values for the preview and the test: no real link, nobody's name."""
    example = settings.PORTAL_URL + "/example-link-not-valid/"
    return {
        **branding.email_context(),
        "first_name": "Sam",
        **{name: example for name in spec.links},
        **spec.sample,
    }


def preview(*, spec: EmailKind, subject: str, body: str) -> Rendered:
    values = sample_values(spec)
    return Rendered(
        subject=_one_line(_render(subject, values)),
        body=_render(body, values),
        html=html_from_text(spec=spec, source=body, values=values),
    )


def shipped_text(spec: EmailKind) -> tuple[str, str]:
    """The subject and body the portal ships with (what "reset to the original" restores)."""
    return shipped_source(spec.subject_template).strip(), shipped_source(spec.body_template)


def email_text_test_render(user_id: int, params: dict[str, Any]) -> Message | None:
    """The test a staff member asked for: the kind's current text, sample values, to them."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    spec = kind_spec(str(params.get("kind", "")))
    if user is None or spec is None or not user.is_staff:
        return None
    text = EmailText.objects.filter(kind=spec.name).first()
    subject, body = (text.subject, text.body) if text else shipped_text(spec)
    made = preview(spec=spec, subject=subject, body=body)
    return Message(to=user.email, subject=f"[Test] {made.subject}", body=made.body, html=made.html)


def sender_name() -> str:
    return branding.brand_get().email_sender_name
