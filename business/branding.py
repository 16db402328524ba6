"""The brand as customers see it: the settings staff saved, over the environment's defaults.

PortalSettings is a django-solo singleton cached in the portal's cache (SOLO_CACHE): a save
writes the new row to the cache, so every worker sharing the cache (Redis in production) shows
it within BRAND_REMEMBERED_SECONDS; a local-memory cache holds it for SOLO_CACHE_TIMEOUT at most.

Every page's layout shows the brand, and reading it from Redis cost about 0.1 ms of CPU a page:
each process keeps what it read for BRAND_REMEMBERED_SECONDS, and forgets it at once when it
saves the settings itself (the staff member who saved sees the change on their next page).
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from business.models import Logo, PortalSettings

logger = logging.getLogger("business")

# The shipped look (static/css/portal.css).
DEFAULT_BRAND = "#0b5cad"
# What the brand colour carries: white text on buttons, and itself as link text on the page's
# white and grey (--paper, --wash).
WHITE, WASH = "#ffffff", "#f3f5f8"
AA_NORMAL_TEXT = 4.5

LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIDE = 4000
LOGO_MIN_SIDE = 16
# What the header shows at most; larger logos are scaled down once, on upload.
LOGO_BOX = (640, 160)
LOGO_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


@dataclass(frozen=True)
class Brand:
    portal_name: str
    support_email: str
    support_phone: str
    opening_hours: str
    welcome_text: str
    privacy_notice_url: str
    privacy_notice: str
    terms_url: str
    email_sender_name: str
    colour: str
    version: int
    logo_version: int
    logo_width: int
    logo_height: int


def settings_row(*, database: bool = True) -> PortalSettings:
    """The saved settings: from the cache, else the database; the environment's alone (an
    unsaved row) when the database cannot answer or must not be asked."""
    if not database:
        cached = caches[settings.SOLO_CACHE].get(PortalSettings.get_cache_key())
        return cached if isinstance(cached, PortalSettings) else PortalSettings()
    try:
        return PortalSettings.get_solo()
    except DatabaseError:
        # The database is down or not migrated: the page still shows, in the default brand.
        logger.warning("Portal settings unavailable from the database; using the defaults")
        return PortalSettings()


# How long a process shows the brand it read before reading it again: a save made through
# another process shows on every page within this.
BRAND_REMEMBERED_SECONDS = 1.0
_clock = time.monotonic
# (read at, the brand, its layout context), or None: this process's last read.
_remembered: tuple[float, Brand, dict[str, Any]] | None = None


@receiver(post_save, sender=PortalSettings)
@receiver(post_delete, sender=PortalSettings)
@receiver(setting_changed)
def forget_brand(**kwargs: Any) -> None:
    """A save in this process, or a test's change of the environment's defaults."""
    global _remembered
    _remembered = None


def _remembered_brand() -> tuple[Brand, dict[str, Any]]:
    global _remembered
    now = _clock()
    remembered = _remembered
    if remembered is None or now - remembered[0] >= BRAND_REMEMBERED_SECONDS:
        brand = _read_brand(database=True)
        remembered = _remembered = (now, brand, _layout_context(brand, database=True))
    return remembered[1], remembered[2]


def brand_get(*, database: bool = True) -> Brand:
    """The brand now: staff's values where they gave one, else the environment's."""
    if not database:
        return _read_brand(database=False)
    return _remembered_brand()[0]


def _read_brand(*, database: bool) -> Brand:
    row = settings_row(database=database)
    return Brand(
        portal_name=row.portal_name or settings.PORTAL_NAME,
        support_email=row.support_email or settings.PORTAL_SUPPORT_EMAIL,
        support_phone=row.support_phone or settings.PORTAL_SUPPORT_PHONE,
        opening_hours=row.opening_hours,
        welcome_text=row.welcome_text,
        privacy_notice_url=row.privacy_notice_url,
        privacy_notice=row.privacy_notice,
        terms_url=row.terms_url,
        email_sender_name=row.email_sender_name,
        colour=(row.brand_colour or DEFAULT_BRAND).lower(),
        version=row.version,
        logo_version=row.logo_version,
        logo_width=row.logo_width,
        logo_height=row.logo_height,
    )


def portal_context(*, database: bool = True) -> dict[str, Any]:
    """What every page's layout shows of the brand (`database=False`: the page that says the
    database is down asks only the cache)."""
    if not database:
        return _layout_context(_read_brand(database=False), database=False)
    return dict(_remembered_brand()[1])


def _layout_context(brand: Brand, *, database: bool) -> dict[str, Any]:
    logo_url = ""
    # The logo is served from the database: not on a page that says the database is down.
    if brand.logo_version and database:
        logo_url = reverse("business:logo", kwargs={"version": brand.logo_version})
    return {
        "portal_name": brand.portal_name,
        "support_email": brand.support_email,
        "support_phone": brand.support_phone,
        "opening_hours": brand.opening_hours,
        "welcome_text": brand.welcome_text,
        "privacy_notice_url": brand.privacy_notice_url,
        # The text of the portal's own notice page (/privacy/); empty, it shows its default.
        "privacy_notice": brand.privacy_notice,
        "terms_url": brand.terms_url,
        "logo_url": logo_url,
        "logo_width": brand.logo_width,
        "logo_height": brand.logo_height,
        # Only when staff chose a colour: the shipped stylesheet has the default.
        "brand_css_url": (
            reverse("business:brand_css", kwargs={"version": brand.version})
            if brand.colour != DEFAULT_BRAND
            else ""
        ),
    }


def email_context() -> dict[str, str]:
    """What every email to a customer names: the portal, its address and whom to ask."""
    brand = brand_get()
    return {
        "portal_name": brand.portal_name,
        "portal_url": settings.PORTAL_URL,
        "support_email": brand.support_email,
        "support_phone": brand.support_phone,
        "opening_hours": brand.opening_hours,
        "privacy_url": privacy_url(brand),
    }


def privacy_url(brand: Brand) -> str:
    """Where the privacy notice is: staff's own page if they gave one, else the portal's."""
    return brand.privacy_notice_url or settings.PORTAL_URL + reverse("privacy_notice")


# --- The colour --------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2's contrast ratio of two #rrggbb colours, 1 to 21."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colour_check(colour: str) -> None:
    """Refuse a brand colour that white text on it, or it as text on the page, would fail AA."""
    for background, foreground, where in (
        (colour, WHITE, "white text on buttons of this colour"),
        (WASH, colour, "links of this colour on the page's light grey"),
    ):
        ratio = contrast_ratio(background, foreground)
        if ratio < AA_NORMAL_TEXT:
            raise ValidationError(
                f"{colour} is too light: {where} would have a contrast of {ratio:.2f}:1, and "
                f"WCAG AA asks for at least {AA_NORMAL_TEXT}:1. Choose a darker colour.",
                code="contrast",
            )


def colour_darker(colour: str, *, by: float = 0.25) -> str:
    """The hover and header shade: the colour mixed with black."""
    r, g, b = (round(int(colour[i : i + 2], 16) * (1 - by)) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"


def brand_css(colour: str) -> str:
    return f":root {{ --brand: {colour}; --brand-dark: {colour_darker(colour)}; }}\n"


# --- The logo ----------------------------------------------------------------------------------


def logo_prepare(upload: Any) -> tuple[bytes, int, int]:
    """The upload re-encoded as a PNG no larger than LOGO_BOX, or a ValidationError saying why.

    Only raster formats Pillow decodes are taken; an SVG (which could carry script) or any
    other file is refused. Nothing of the upload is kept but its pixels.
    """
    if upload.size > LOGO_MAX_BYTES:
        raise ValidationError(
            f"The logo is {upload.size / 1024 / 1024:.1f} MB; upload one of 1 MB or less.",
            code="size",
        )
    upload.seek(0)
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            if kind not in LOGO_FORMATS:
                raise UnidentifiedImageError(kind)
            if max(width, height) > LOGO_MAX_SIDE or min(width, height) < LOGO_MIN_SIDE:
                raise ValidationError(
                    f"The logo is {width}x{height} pixels; each side must be between "
                    f"{LOGO_MIN_SIDE} and {LOGO_MAX_SIDE}.",
                    code="dimensions",
                )
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as exc:
        raise ValidationError(
            "This file is not an image the portal can show: upload a PNG, JPEG, GIF or WebP "
            "(SVG is not accepted).",
            code="format",
        ) from exc
    picture.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue(), picture.width, picture.height


def settings_save(
    *, row: PortalSettings, logo: tuple[bytes, int, int] | None, remove_logo: bool
) -> PortalSettings:
    """Save the settings (and a new logo, or none): every URL that shows them moves on."""
    with transaction.atomic():
        if logo is not None:
            content, width, height = logo
            new = Logo.objects.create(content=content, width=width, height=height)
            Logo.objects.exclude(pk=new.pk).delete()
            row.logo_version, row.logo_width, row.logo_height = new.pk, width, height
        elif remove_logo:
            Logo.objects.all().delete()
            row.logo_version = row.logo_width = row.logo_height = 0
        row.version += 1
        # django-solo writes the saved row to the shared cache; again once committed, so no
        # worker keeps a copy read from before the commit.
        row.save()
        transaction.on_commit(row.set_to_cache)
    return row
