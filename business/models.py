"""What a business changes without a developer: its brand, its words, and the steps counted for
its dashboard (an event per step, with no personal data beyond the account's id)."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from solo.models import SingletonModel

HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Give the colour as # and six hex digits.")


class PortalSettings(SingletonModel):
    """The one row of the portal's brand and contacts. An empty field means the environment's
    default (PORTAL_NAME, PORTAL_SUPPORT_EMAIL, PORTAL_SUPPORT_PHONE) or the shipped look."""

    portal_name = models.CharField(
        max_length=100, blank=True, help_text="Shown in every page's header and in emails."
    )
    brand_colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[HEX_COLOUR],
        help_text="Buttons and links (#0b5cad, the shipped blue, if unchanged). It must keep "
        "white text on it and it as text on the page readable (WCAG AA, contrast 4.5:1 or more).",
    )
    # The logo's bytes live in their own table (Logo), so the cached settings stay small.
    logo_version = models.PositiveIntegerField(default=0, editable=False)
    logo_width = models.PositiveIntegerField(default=0, editable=False)
    logo_height = models.PositiveIntegerField(default=0, editable=False)
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    opening_hours = models.CharField(
        max_length=200, blank=True, help_text="Such as: Monday to Friday, 9am to 5pm."
    )
    welcome_text = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(600)],
        help_text="A short welcome above the appointment types on the home page (plain text).",
    )
    privacy_notice_url = models.URLField(
        "privacy notice link", blank=True, help_text="Your own privacy notice page, if any."
    )
    privacy_notice = models.TextField(
        "privacy notice text",
        blank=True,
        help_text="Plain text; blank lines start new paragraphs. Shown on the portal's privacy "
        "page.",
    )
    terms_url = models.URLField("terms link", blank=True)
    email_sender_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="The name emails come from (the address stays DEFAULT_FROM_EMAIL's). Empty: "
        "DEFAULT_FROM_EMAIL as it is.",
    )
    # Moves on at every save: the brand stylesheet's and the logo's URLs carry it.
    version = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "portal settings"

    def __str__(self) -> str:
        return "Portal settings"


class Logo(models.Model):
    """The logo as the portal re-encoded it (a PNG): never the file as uploaded."""

    content = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Logo {self.pk} ({self.width}x{self.height})"


class EmailText(models.Model):
    """Staff's own wording for one kind of email; without a row, the shipped text is sent."""

    kind = models.CharField(max_length=40, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "email text"
        ordering = ["kind"]

    def __str__(self) -> str:
        from business import emails

        spec = emails.kind_spec(self.kind)
        return spec.label if spec else self.kind


class Event(models.Model):
    """One step a customer took, for the dashboard: ids only, never a name or an address."""

    class Kind(models.TextChoices):
        FIRST_SIGN_IN = "first_sign_in", "came in (first sign-in)"
        BOOKING_LINK = "booking_link", "booking link made"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    appointment_type_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["kind", "at"], name="business_event_kind_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
