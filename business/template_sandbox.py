"""The template language staff write emails in: Django's, cut down to variables, a few text
filters and {% if %}. No {% load %}, {% include %}, {% url %} or anything that reads files,
other templates or the database; the values given are plain strings and numbers. No {% for %}
either: there is no list to walk, and loops over a link's characters nested a few deep would
hold a worker for hours."""

from __future__ import annotations

from django.template import Library, defaultfilters, defaulttags

register = Library()

for _name in ("if", "comment", "firstof", "spaceless"):
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
):
    register.filter(_name, defaultfilters.register.filters[_name])
