"""`{% url %}` and `{% extends %}`, with what every page's layout asks remembered per process.

`{% extends %}`: Django collects the root layout's blocks by walking its whole node tree on
every render (about 40 µs a page); the layout is compiled once per process (the cached
loader), so its blocks are collected once, on it.

`{% url %}`: every page's layout reverses the same addresses.

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
from django.template.base import Parser, TextNode, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.template.loader_tags import (
    BLOCK_CONTEXT_KEY,
    BlockContext,
    BlockNode,
    ExtendsNode,
    do_extends,
)
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


def _prefix_and_urlconf(context: Context) -> tuple[str, Any]:
    """The script prefix and URLconf in use: read once a request (each is a context-local
    lookup, a few µs, and a page has ten tags), once the request's URL is resolved (both are
    settled by then)."""
    request = getattr(context, "request", None)
    if request is None or getattr(request, "resolver_match", None) is None:
        return get_script_prefix(), get_urlconf()
    where: tuple[str, Any] | None = getattr(request, "_portal_prefix_and_urlconf", None)
    if where is None:
        where = request._portal_prefix_and_urlconf = (get_script_prefix(), get_urlconf())
    return where


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
            *_prefix_and_urlconf(context),
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


class RememberedExtendsNode(ExtendsNode):
    def render(self, context: Context) -> str:
        compiled_parent: Any = self.get_parent(context)  # a Template, with our note on it
        if BLOCK_CONTEXT_KEY not in context.render_context:
            context.render_context[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = context.render_context[BLOCK_CONTEXT_KEY]
        block_context.add_blocks(self.blocks)
        # As ExtendsNode does: a parent that extends nothing is the root, whose blocks are
        # added too; they are its own, so they are kept on it.
        root_blocks: dict[str, Any] | None = getattr(compiled_parent, "_portal_root_blocks", None)
        if root_blocks is None:
            root_blocks = {}
            for node in compiled_parent.nodelist:
                if not isinstance(node, TextNode):
                    if not isinstance(node, ExtendsNode):
                        root_blocks = {
                            n.name: n for n in compiled_parent.nodelist.get_nodes_by_type(BlockNode)
                        }
                    break
            compiled_parent._portal_root_blocks = root_blocks
        if root_blocks:
            block_context.add_blocks(root_blocks)
        with context.render_context.push_state(compiled_parent, isolated_context=False):
            return str(compiled_parent._render(context))


@register.tag("extends")
def remembered_extends(parser: Parser, token: Token) -> RememberedExtendsNode:
    node = do_extends(parser, token)
    return RememberedExtendsNode(node.nodelist, node.parent_name, node.template_dirs)
