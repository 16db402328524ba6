from __future__ import annotations

import pytest

from tests.appointments.lead_webhook import TOKEN, Webhook


@pytest.fixture
def webhook(live_server, settings):
    """FLG posting leads to the portal on live_server, with the webhook configured."""
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"
    return Webhook(live_server.url)
