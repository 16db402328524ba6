"""Staff edit the brand (one Portal settings page) and the wording of every email."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from solo.admin import SingletonModelAdmin

from business import branding, emails
from business.models import EmailText, PortalSettings
from outbox import services as outbox
from outbox.kinds import masked_email


class PortalSettingsForm(forms.ModelForm[PortalSettings]):
    # A plain file field: branding.logo_prepare checks the size before Pillow reads anything,
    # then decodes and re-encodes it.
    logo_upload = forms.FileField(
        label="New logo",
        required=False,
        help_text="PNG, JPEG, GIF or WebP, up to 1 MB. Shown at most 640x160 pixels.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)
    # Typed without a scheme, an address is taken as https (as Django 6 will).
    privacy_notice_url = forms.URLField(
        label="Privacy notice link",
        required=False,
        assume_scheme="https",
        help_text=PortalSettings._meta.get_field("privacy_notice_url").help_text,
    )
    terms_url = forms.URLField(label="Terms link", required=False, assume_scheme="https")

    class Meta:
        model = PortalSettings
        fields = [
            "portal_name",
            "brand_colour",
            "support_email",
            "support_phone",
            "opening_hours",
            "welcome_text",
            "privacy_notice_url",
            "terms_url",
            "privacy_notice",
            "email_sender_name",
        ]
        widgets = {"brand_colour": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Empty fields fall back to the environment: say what it gives.
        for name, default in (
            ("portal_name", settings.PORTAL_NAME),
            ("support_email", settings.PORTAL_SUPPORT_EMAIL),
            ("support_phone", settings.PORTAL_SUPPORT_PHONE),
        ):
            field = self.fields[name]
            field.widget.attrs["placeholder"] = default
            field.help_text = (field.help_text + " " if field.help_text else "") + (
                f"Empty: {default or 'none'} (from the environment)."
            )
        if not self.initial.get("brand_colour"):
            self.initial["brand_colour"] = branding.DEFAULT_BRAND

    def clean_brand_colour(self) -> str:
        colour = str(self.cleaned_data.get("brand_colour") or "").lower()
        if colour:
            branding.colour_check(colour)
        return "" if colour == branding.DEFAULT_BRAND else colour

    def clean_logo_upload(self) -> tuple[bytes, int, int] | None:
        upload = self.cleaned_data.get("logo_upload")
        return branding.logo_prepare(upload) if upload else None


@admin.register(PortalSettings)
class PortalSettingsAdmin(SingletonModelAdmin):
    form = PortalSettingsForm
    readonly_fields = ["current_logo"]
    fieldsets = [
        (
            "Brand",
            {
                "fields": [
                    "portal_name",
                    "brand_colour",
                    "current_logo",
                    "logo_upload",
                    "remove_logo",
                ]
            },
        ),
        ("Contacts", {"fields": ["support_email", "support_phone", "opening_hours"]}),
        (
            "Home page and footer",
            {"fields": ["welcome_text", "privacy_notice_url", "terms_url", "privacy_notice"]},
        ),
        ("Emails", {"fields": ["email_sender_name"]}),
    ]

    @admin.display(description="Current logo")
    def current_logo(self, obj: PortalSettings) -> str:
        if not obj.logo_version:
            return "None: the portal's name is shown instead."
        return format_html(
            '<img src="{}" alt="The current logo" width="{}" height="{}">',
            reverse("business:logo", kwargs={"version": obj.logo_version}),
            obj.logo_width,
            obj.logo_height,
        )

    def save_model(
        self, request: HttpRequest, obj: PortalSettings, form: Any, change: bool
    ) -> None:
        branding.settings_save(
            row=obj,
            logo=form.cleaned_data.get("logo_upload"),
            remove_logo=form.cleaned_data.get("remove_logo", False),
        )


class EmailTextForm(forms.ModelForm[EmailText]):
    class Meta:
        model = EmailText
        fields = ["kind", "subject", "body"]
        widgets = {
            "kind": forms.HiddenInput,
            "body": forms.Textarea(attrs={"rows": 18, "cols": 90, "spellcheck": "true"}),
            "subject": forms.TextInput(attrs={"size": 90}),
        }

    def clean_body(self) -> str:
        # A browser sends a textarea's lines with CRLF; emails are written with LF.
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "subject" in data and "body" in data and data.get("kind"):
            try:
                emails.text_check(kind=data["kind"], subject=data["subject"], body=data["body"])
            except forms.ValidationError as exc:
                self.add_error(None, exc)
        return data


@admin.register(EmailText)
class EmailTextAdmin(admin.ModelAdmin[EmailText]):
    form = EmailTextForm
    change_form_template = "admin/business/emailtext/change_form.html"
    change_list_template = "admin/business/emailtext/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/send-test/",
                self.admin_site.admin_view(self.send_test),
                name="business_emailtext_send_test",
            ),
            path(
                "<int:pk>/reset/",
                self.admin_site.admin_view(self.reset),
                name="business_emailtext_reset",
            ),
        ]
        return own + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        saved = {text.kind: text for text in EmailText.objects.all()}
        rows = [{"spec": spec, "text": saved.get(spec.name)} for spec in emails.kinds_all()]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Email texts",
            "rows": rows,
            "has_add_permission": self.has_add_permission(request),
        }
        return TemplateResponse(request, self.change_list_template, context)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        spec = emails.kind_spec(request.GET.get("kind", ""))
        if spec is None:
            return {}
        subject, body = emails.shipped_text(spec)
        return {"kind": spec.name, "subject": subject, "body": body}

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        kind = request.POST.get("kind") or request.GET.get("kind", "")
        spec = emails.kind_spec(kind)
        if spec is None:
            # Which email? The list of them says.
            return self.changelist_view(request)
        existing = EmailText.objects.filter(kind=kind).first()
        if existing is not None:
            return HttpResponseRedirect(
                reverse("admin:business_emailtext_change", args=[existing.pk])
            )
        return super().add_view(
            request, form_url, {**(extra_context or {}), **self._kind_context(spec, None)}
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        text = get_object_or_404(EmailText, pk=object_id)
        spec = emails.kind_spec(text.kind)
        more = self._kind_context(spec, text) if spec else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **more})

    def _kind_context(self, spec: emails.EmailKind, text: EmailText | None) -> dict[str, Any]:
        subject, body = (text.subject, text.body) if text else emails.shipped_text(spec)
        return {
            "spec": spec,
            "title": f"Email text: {spec.label}",
            "placeholders": [
                {"name": name, "help": help, "required": name in spec.required}
                for name, help in emails.placeholders_of(spec).items()
            ],
            "preview": emails.preview(spec=spec, subject=subject, body=body),
            "saved": text,
        }

    def send_test(self, request: HttpRequest, pk: int) -> HttpResponse:
        text = get_object_or_404(EmailText, pk=pk)
        back = HttpResponseRedirect(reverse("admin:business_emailtext_change", args=[pk]))
        if request.method != "POST" or not self.has_view_permission(request, text):
            return back
        user = request.user
        address = str(getattr(user, "email", ""))
        outbox.email_queue(
            kind=emails.TEST_KIND,
            user_id=int(user.pk or 0),
            email=address,
            params={"kind": text.kind},
            priority=outbox.URGENT,
        )
        messages.success(
            request,
            f"A test of the saved text is on its way to {masked_email(address)}.",
        )
        return back

    def reset(self, request: HttpRequest, pk: int) -> HttpResponse:
        text = get_object_or_404(EmailText, pk=pk)
        if request.method != "POST" or not self.has_delete_permission(request, text):
            return HttpResponseRedirect(reverse("admin:business_emailtext_change", args=[pk]))
        label = str(text)
        self.log_deletions(request, EmailText.objects.filter(pk=text.pk))
        text.delete()
        messages.success(request, f"{label}: the original text is sent again.")
        return HttpResponseRedirect(reverse("admin:business_emailtext_changelist"))
