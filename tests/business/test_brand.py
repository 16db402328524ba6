"""Portal settings: staff's brand over the environment's, checked on save, shown at once."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from business import branding
from business.models import Logo, PortalSettings

SETTINGS_URL = "/admin/business/portalsettings/"


def png(width=200, height=80, colour=(200, 30, 30), kind="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=kind)
    return out.getvalue()


def form(**changes):
    data = {
        "portal_name": "",
        "brand_colour": "#0b5cad",
        "support_email": "",
        "support_phone": "",
        "opening_hours": "",
        "welcome_text": "",
        "privacy_notice_url": "",
        "terms_url": "",
        "privacy_notice": "",
        "email_sender_name": "",
    }
    data.update(changes)
    return data


def test_a_fresh_install_shows_the_environment_s_name_and_contacts(customer_client):
    page = customer_client.get("/").content.decode()
    assert "Acme Bookings" in page
    assert "support@example.com" not in page or "mailto:" in page
    assert "/brand/brand-" not in page  # the shipped colours: no extra stylesheet


def test_staff_s_name_colour_contacts_and_welcome_show_on_the_next_page(staff, customer_client):
    response = staff.post(
        SETTINGS_URL,
        form(
            portal_name="Harbour Dental",
            brand_colour="#7A1F5C",
            support_email="help@harbour.example",
            support_phone="0161 496 0000",
            opening_hours="Monday to Friday, 9am to 5pm",
            welcome_text="Welcome to Harbour Dental.\nBook below.",
            privacy_notice_url="https://harbour.example/privacy",
            terms_url="https://harbour.example/terms",
        ),
    )
    assert response.status_code == 302, response.content.decode()
    page = customer_client.get("/").content.decode()
    assert "Harbour Dental" in page and "Acme Bookings" not in page
    assert 'href="mailto:help@harbour.example"' in page
    assert "0161 496 0000" in page
    assert "Opening hours: Monday to Friday, 9am to 5pm." in page
    assert "Welcome to Harbour Dental.<br>Book below." in page
    assert 'href="https://harbour.example/privacy">Privacy notice</a>' in page
    assert 'href="https://harbour.example/terms">Terms</a>' in page
    version = PortalSettings.get_solo().version
    css_url = f"/brand/brand-{version}.css"
    assert f'href="{css_url}"' in page
    css = customer_client.get(css_url)
    assert css["Content-Type"] == "text/css"
    assert "--brand: #7a1f5c;" in css.content.decode()
    assert "immutable" in css["Cache-Control"] and "no-store" not in css["Cache-Control"]


def test_a_save_reaches_other_workers_through_the_cache(staff, customer_client):
    staff.post(SETTINGS_URL, form(portal_name="Harbour Dental"))
    # Another worker reads the shared cache once its second is up, and the save rewrote it.
    cached = cache.get(PortalSettings.get_cache_key())
    assert cached is not None and cached.portal_name == "Harbour Dental"
    assert branding.brand_get().portal_name == "Harbour Dental"


def test_a_process_shows_another_s_save_once_its_second_is_up(customer_client, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(branding, "_clock", lambda: now[0])
    assert "Acme Bookings" in customer_client.get("/").content.decode()
    # Another process's save: the shared cache and the database change, and no signal
    # reaches this process.
    row = PortalSettings.get_solo()
    PortalSettings.objects.filter(pk=row.pk).update(portal_name="Harbour Dental")
    row.portal_name = "Harbour Dental"
    cache.set(PortalSettings.get_cache_key(), row)

    now[0] += branding.BRAND_REMEMBERED_SECONDS - 0.01
    assert "Acme Bookings" in customer_client.get("/").content.decode()  # still remembered
    now[0] += 0.01
    page = customer_client.get("/").content.decode()
    assert "Harbour Dental" in page and "Acme Bookings" not in page


@pytest.mark.parametrize(
    ("colour", "ratio"),
    [("#ffcc00", "1.51"), ("#6fa8dc", "2.53")],
)
def test_a_colour_that_fails_wcag_aa_is_refused_with_its_ratio(staff, colour, ratio):
    response = staff.post(SETTINGS_URL, form(brand_colour=colour))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"white text on buttons of this colour would have a contrast of {ratio}:1" in page
    assert "at least 4.5:1" in page
    assert PortalSettings.get_solo().brand_colour == ""


def test_the_contrast_ratio_is_wcag_s():
    assert branding.contrast_ratio("#ffffff", "#000000") == pytest.approx(21)
    assert branding.contrast_ratio("#0b5cad", "#ffffff") == pytest.approx(6.66, abs=0.01)


def test_a_logo_is_re_encoded_as_a_png_and_served_with_safe_headers(staff, customer_client):
    upload = SimpleUploadedFile("logo.jpg", png(1200, 300, kind="JPEG"), "image/jpeg")
    response = staff.post(SETTINGS_URL, {**form(), "logo_upload": upload})
    assert response.status_code == 302, response.content.decode()
    row = PortalSettings.get_solo()
    # Scaled down once to the header's box, keeping its shape.
    assert (row.logo_width, row.logo_height) == (640, 160)
    page = customer_client.get("/").content.decode()
    url = f"/brand/logo-{row.logo_version}.png"
    assert f'src="{url}" alt="Acme Bookings" width="640" height="160"' in page
    logo = customer_client.get(url)
    assert logo["Content-Type"] == "image/png"
    assert logo["X-Content-Type-Options"] == "nosniff"
    assert logo["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "immutable" in logo["Cache-Control"]
    assert Image.open(io.BytesIO(logo.content)).format == "PNG"


def test_a_new_logo_replaces_the_old_and_removing_it_brings_the_name_back(staff, customer_client):
    staff.post(SETTINGS_URL, {**form(), "logo_upload": SimpleUploadedFile("a.png", png())})
    first = PortalSettings.get_solo().logo_version
    staff.post(SETTINGS_URL, {**form(), "logo_upload": SimpleUploadedFile("b.png", png())})
    assert Logo.objects.count() == 1
    assert customer_client.get(f"/brand/logo-{first}.png").status_code == 404
    staff.post(SETTINGS_URL, form(remove_logo="on"))
    assert Logo.objects.count() == 0
    page = customer_client.get("/").content.decode()
    assert 'class="site-name" href="/">Acme Bookings</a>' in page


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.svg", SVG, "upload a PNG, JPEG, GIF or WebP (SVG is not accepted)"),
        ("logo.png", b"not an image at all", "This file is not an image the portal can show"),
        ("big.png", b"\x89PNG" + b"0" * (1024 * 1024 + 1), "upload one of 1 MB or less"),
        ("tiny.png", png(8, 8), "each side must be between 16 and 4000"),
    ],
)
def test_a_file_that_is_not_a_fitting_image_is_refused(staff, name, content, message):
    response = staff.post(
        SETTINGS_URL, {**form(), "logo_upload": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Logo.objects.count() == 0


def test_only_staff_reach_the_settings(customer_client):
    assert customer_client.get(SETTINGS_URL).status_code == 302
