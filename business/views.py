"""The brand's two files: the colour as a stylesheet and the logo, each at a URL that changes
with the settings' version, so browsers and proxies may keep them for a year.

The logo is served from the database by this view, not from MEDIA_ROOT: production serves no
media directory (WhiteNoise serves collected static files only), and several containers share
the database but no disk. It is always the PNG the portal re-encoded, with its own type,
nosniff, and a CSP that lets nothing in it run even if opened on its own.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from business import branding
from business.models import Logo

YEAR = 365 * 24 * 3600
KEEP = f"public, max-age={YEAR}, immutable"


@require_GET
def brand_css(request: HttpRequest, version: int) -> HttpResponse:
    brand = branding.brand_get()
    response = HttpResponse(branding.brand_css(brand.colour), content_type="text/css")
    # An old version's URL answers today's colour, but only the current one is kept long.
    response["Cache-Control"] = KEEP if version == brand.version else "no-cache"
    return response


@require_GET
def logo(request: HttpRequest, version: int) -> HttpResponse:
    image = Logo.objects.filter(pk=version).first()
    if image is None:
        raise Http404("No such logo.")
    response = HttpResponse(bytes(image.content), content_type="image/png")
    response["Cache-Control"] = KEEP
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = 'inline; filename="logo.png"'
    return response
