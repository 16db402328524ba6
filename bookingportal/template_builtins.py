"""`{% url %}`, remembered per process: every page's layout reverses the same addresses.

Reversing a URL name walks the URLconf's patterns and cost about 30 µs of CPU a tag, ten tags
a page. The answer depends only on the name, its arguments, the namespace in use, the script
prefix and the URLconf, so it is kept, keyed on all of those, for arguments that are plain
values (a model object's text could change; those are reversed each time). Added to the
template engine's builtins (bookingportal.wiring.templates), so templates are unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Library
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = Library()

# At most this many addresses are kept (each type's Book address, each booking's calendar
# file...); past it the whole memory is dropped and fills again.
MAX_REMEMBERED = 2048
_PLAIN = (str, int, uuid.UUID)
_remembered: dict[tuple[Any, ...], str] = {}


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    # A test that changes the URLconf or the script prefix must not meet old addresses.
    _remembered.clear()


def _current_app(context: Context) -> str | None:
    """The namespace URLNode would reverse in."""
    request = getattr(context, "request", None)
    current = getattr(request, "current_app", None)
    if current is not None:
        return str(current)
    match = getattr(request, "resolver_match", None)
    return getattr(match, "namespace", None)


class RememberedURLNode(URLNode):
    def render(self, context: Context) -> str:
        if self.asvar:  # {% url ... as name %}: rare, and Django's own way
            return str(super().render(context))
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        if not all(isinstance(value, _PLAIN) for value in (view_name, *args, *kwargs.values())):
            return str(super().render(context))
        current_app = _current_app(context)
        key = (
            view_name,
            tuple(args),
            tuple(sorted(kwargs.items())),
            current_app,
            get_script_prefix(),
            get_urlconf(),
        )
        url = _remembered.get(key)
        if url is None:
            # As URLNode does: an unknown name raises NoReverseMatch.
            url = reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
            if len(_remembered) >= MAX_REMEMBERED:
                _remembered.clear()
            _remembered[key] = url
        return str(conditional_escape(url)) if context.autoescape else url


@register.tag("url")
def remembered_url(parser: Parser, token: Token) -> RememberedURLNode:
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
