"""What accounts keep beyond Django's User: the state of a person's sign-in links."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SignInLinks(models.Model):
    """How many sign-in links an account has been sent; only the latest one works.

    Sending a link or using one moves the number on, so a link works once and a newer one
    spends any older one (accounts.links).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="sign_in_links",
    )
    issued = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "sign-in links"
        verbose_name_plural = "sign-in links"

    def __str__(self) -> str:
        return f"{self.issued} sign-in link(s) for user {self.user_id}"
