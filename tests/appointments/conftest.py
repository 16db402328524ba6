"""Fixtures for the booking pages' tests (the sandbox ready with the cast, a customer signed
in, a user with no customer record) and FLG posting to the lead webhook."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from flg import transport
from tests.appointments.lead_webhook import TOKEN, Webhook


@pytest.fixture
def flg_ready(
    sandbox,
    customer,
    other_customer,
    type_for_all,
    type_for_homeowners,
    type_for_landlords,
    inactive_type,
):
    sandbox.mirror()
    yield sandbox
    # The FLG client keeps its connection to live_server alive between calls, and the server
    # thread at the other end keeps a database connection that outlives the test database
    # otherwise ("being accessed by other users" on PostgreSQL). Hang up.
    pooled = getattr(transport._local, "session", None)
    if pooled is not None:
        pooled.close()


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer.user)
    return client


@pytest.fixture
def unlinked_client(client, db):
    user = get_user_model().objects.create_user("sam", "sam@example.com", "pw-not-used")
    client.force_login(user)
    return client


@pytest.fixture
def webhook(live_server, settings):
    """FLG posting leads to the portal on live_server, with the webhook configured."""
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://book.example.com"
    return Webhook(live_server.url)
