"""The template language staff write emails in: Django's, cut down to variables, a few filters,
{% if %} and {% for %}. No {% load %}, {% include %}, {% url %} or anything that reads files,
other templates or the database; the values given are plain strings and numbers."""

from __future__ import annotations

from django.template import Library, defaultfilters, defaulttags

register = Library()

for _name in ("if", "for", "comment", "firstof", "spaceless"):
    register.tag(_name, defaulttags.register.tags[_name])

for _name in (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "title",
    "capfirst",
    "pluralize",
    "yesno",
    "length",
    "add",
    "cut",
    "truncatewords",
    "date",
):
    register.filter(_name, defaultfilters.register.filters[_name])
