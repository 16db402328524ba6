from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import dateformat, timezone
from django.utils.text import slugify

from appointments import failures
from flg.errors import ErrorCode

lead_id_validator = RegexValidator(
    r"^[0-9]+\Z",
    "A lead id is digits only, as FLG 360 shows it on the lead (for example 108123759).",
)


class LeadGroup(models.Model):
    flg_id = models.PositiveIntegerField(
        "FLG lead group id",
        unique=True,
        help_text="The number of the lead group in FLG 360 (Settings > Lead Groups).",
    )
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.flg_id})"


class AppointmentTypeQuerySet(models.QuerySet["AppointmentType"]):
    def bookable_by(self, customer: Customer) -> AppointmentTypeQuerySet:
        """Active types for all lead groups or for the customer's own group, leaving out a type
        whose id the last check found FLG 360 does not know (customers would meet an error)."""
        groups = models.Q(lead_group__isnull=True)
        if customer.lead_group_id is not None:
            groups |= models.Q(lead_group_id=customer.lead_group_id)
        return self.filter(groups, is_active=True).exclude(
            flg_check=AppointmentType.FlgCheck.UNKNOWN
        )


class AppointmentType(models.Model):
    class FlgCheck(models.TextChoices):
        """What the last check of the id with FLG 360 found (appointments.type_checks)."""

        NOT_CHECKED = "", "Not checked"
        KNOWN = "known", "FLG knows it"
        UNKNOWN = "unknown", "FLG does not know it"

    flg_id = models.UUIDField(
        "FLG appointment type id",
        unique=True,
        help_text=(
            "The appointment type's id in FLG 360, a UUID such as "
            "39594a1c-72db-4990-a63f-8d5139a5e4e1. In FLG 360 go to Settings > Appointments, "
            "select the appointment type, click the options icon (three dots) in the top right "
            "corner and choose Properties."
        ),
    )
    name = models.CharField(max_length=200, help_text="Shown to customers.")
    slug = models.SlugField(
        max_length=200,
        unique=True,
        blank=True,
        help_text="Used in the booking page's address. Left empty, it is made from the name.",
    )
    description = models.TextField(blank=True, help_text="Shown to customers under the name.")
    lead_group = models.ForeignKey(
        LeadGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointment_types",
        help_text=(
            "The lead group this type belongs to in FLG 360. Leave empty if FLG marks it for "
            "all lead groups. Customers of other groups are never offered it."
        ),
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Only active types are offered to customers."
    )
    sort_order = models.PositiveIntegerField(
        "order", default=0, help_text="Lower numbers are listed first."
    )

    flg_check = models.CharField(
        "FLG check",
        max_length=10,
        choices=FlgCheck.choices,
        default=FlgCheck.NOT_CHECKED,
        blank=True,
        editable=False,
        help_text="Customers are never offered a type whose id FLG 360 did not know.",
    )
    flg_checked_at = models.DateTimeField("checked with FLG", null=True, blank=True, editable=False)
    flg_check_note = models.CharField(
        "what the check found", max_length=300, blank=True, editable=False
    )

    objects = AppointmentTypeQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.slug:
            self.slug = self.unique_slug()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def unique_slug(self) -> str:
        base = slugify(self.name)[:190] or "appointment"
        slug, n = base, 2
        others = AppointmentType.objects.exclude(pk=self.pk)
        while others.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug


class Customer(models.Model):
    class Source(models.TextChoices):
        """How the customer's record came to the portal."""

        NOT_RECORDED = "", "Not recorded"
        WEBHOOK = "webhook", "FLG webhook"
        IMPORT = "import", "CSV import"
        ADMIN = "admin", "Added by staff"
        DEMO = "demo", "Demo data"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer"
    )
    lead_id = models.CharField(
        "FLG lead id",
        max_length=20,
        unique=True,
        validators=[lead_id_validator],
        help_text="The id of this customer's lead in FLG 360: digits only.",
    )
    lead_group = models.ForeignKey(
        LeadGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        help_text="The lead's group in FLG 360; it decides which appointment types are offered.",
    )
    flg_status = models.CharField(
        "FLG lead status",
        max_length=100,
        blank=True,
        default="",
        help_text=(
            "The lead's status in FLG 360, as its webhook last sent it. A status listed in "
            "FLG_WEBHOOK_NO_BOOKING_STATUSES keeps the account but hides the Book buttons."
        ),
    )
    source = models.CharField(
        "came in by",
        max_length=10,
        choices=Source.choices,
        default=Source.NOT_RECORDED,
        blank=True,
        editable=False,
        help_text="How the record came to the portal; not recorded before December 2026.",
    )
    # Part of every booking link's token: moving it on revokes all of the customer's links.
    booking_links_revision = models.PositiveIntegerField(default=0, editable=False)
    # Set when the customer was erased or anonymised (privacy.erasure): the row stays, with no
    # name or email, so counts stay true; a lead delivery for a kept lead id is then skipped.
    erased_at = models.DateTimeField("erased", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(lead_id=""), name="customer_lead_id_set"),
        ]

    def __str__(self) -> str:
        return f"{self.user.email} (lead {self.lead_id})"


class AppointmentSessionQuerySet(models.QuerySet["AppointmentSession"]):
    def open(self) -> AppointmentSessionQuerySet:
        return self.filter(closes_at__gt=timezone.now())


# Customers are in the UK: appointments are shown in its time, and said to be.
UK_TIME = zoneinfo.ZoneInfo("Europe/London")


class BookedVia(models.TextChoices):
    """How the portal learned of a booking: FLG's booking screen said so, or the customer did
    (asked on coming back from the booking screen's own window)."""

    SCREEN = "screen", "the booking screen said so"
    CUSTOMER = "customer", "the customer told us"


class AppointmentSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flg_session_id = models.UUIDField("FLG session id", unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sessions")
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="sessions"
    )
    lead_id = models.CharField("lead id sent", max_length=20)
    public_url = models.URLField("public URL", max_length=2000)
    closes_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    booked_at = models.DateTimeField(
        "booked (the customer's page reported it)",
        null=True,
        blank=True,
        help_text=(
            "When the customer's booking page reported that the booking screen confirmed a "
            "booking. It is the customer's browser's claim, not FLG 360's record: check the "
            "appointment in FLG 360."
        ),
    )

    booked_via = models.CharField(
        "how we learned of the booking",
        max_length=20,
        choices=BookedVia.choices,
        blank=True,
        default="",
    )
    slot_starts_at = models.DateTimeField(
        "appointment starts",
        null=True,
        blank=True,
        help_text="The slot booked, as the booking screen reported it; empty when not known.",
    )
    slot_ends_at = models.DateTimeField("appointment ends", null=True, blank=True)

    objects = AppointmentSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["customer", "appointment_type", "-created_at"],
                name="session_customer_type_recent",
            )
        ]
        constraints = [
            # A slot's times come together, and it ends after it starts.
            models.CheckConstraint(
                condition=models.Q(slot_starts_at__isnull=True, slot_ends_at__isnull=True)
                | models.Q(slot_ends_at__gt=models.F("slot_starts_at")),
                name="session_slot_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} for lead {self.lead_id} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_open(self) -> bool:
        return self.closes_at > timezone.now()

    @property
    def is_booked(self) -> bool:
        return self.booked_at is not None

    @property
    def when_text(self) -> str:
        """The appointment's day and time in UK time, or honestly that we do not know them."""
        if self.slot_starts_at is not None and self.slot_ends_at is not None:
            starts = self.slot_starts_at.astimezone(UK_TIME)
            ends = self.slot_ends_at.astimezone(UK_TIME)
            day = dateformat.format(starts, "l j F Y")
            end_day = "" if ends.date() == starts.date() else dateformat.format(ends, " l j F")
            return f"{day}, {starts:%H:%M} to {ends:%H:%M}{end_day} (UK time)"
        if self.booked_at is None:
            return ""
        told = " (you told us)" if self.booked_via == BookedVia.CUSTOMER else ""
        day = dateformat.format(self.booked_at.astimezone(UK_TIME), "l j F Y")
        return f"Booked on {day}{told}; time not known: see the booking screen's confirmation"

    @property
    def reference(self) -> str:
        """The short form of the id that customers quote when they contact us."""
        return self.id.hex[:8].upper()


class FlgFailure(models.Model):
    """A time FLG 360 could not give a customer a session, kept for staff to see."""

    class Action(models.TextChoices):
        START = "start", "Start"
        PAGE = "page", "Page refresh"
        REFRESH = "refresh", "Automatic refresh"
        VERIFY = "verify", "Admin check"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.START)
    appointment_type = models.ForeignKey(
        AppointmentType,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="failures",
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="failures"
    )
    code = models.CharField(max_length=40, db_index=True, choices=ErrorCode.choices)
    status = models.PositiveSmallIntegerField("FLG status", null=True, blank=True)
    customer_message = models.TextField("message shown to the customer")
    detail = models.TextField("detail for staff")

    class Meta:
        verbose_name = "FLG failure"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["appointment_type", "-created_at"], name="failure_type_recent")
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def how_to_fix(self) -> str:
        return failures.staff_advice(code=self.code, detail=self.detail)


class LeadDelivery(models.Model):
    """One lead FLG 360 pushed to the webhook, and what the portal made of it, for staff.

    Only what staff need to follow a lead: never the address, phone numbers or date of birth
    the delivery carried.
    """

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        SKIPPED = "skipped", "Skipped"
        CONFLICT = "conflict", "Conflict"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    lead_id = models.CharField("FLG lead id", max_length=20, db_index=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    changed = models.CharField(
        "what changed", max_length=200, blank=True, help_text="The customer's fields it changed."
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    source = models.GenericIPAddressField("source address", null=True, blank=True)
    invited = models.BooleanField(
        "invitation sent", default=False, help_text="The new customer was emailed an invitation."
    )

    class Meta:
        verbose_name_plural = "lead deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="delivery_customer_recent")
        ]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"Lead {self.lead_id}: {self.get_outcome_display()} at {when}"
