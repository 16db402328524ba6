"""What the webhook cannot store is a permanent answer, never a 503 "send it again".

An email of 151 to 254 characters is a valid address that no account can hold (its sign-in
name, the username column, holds 150). PostgreSQL refused it, and FLG was told to retry what
would never work, counted as `unavailable`. Run on PostgreSQL to see the column's limit itself
(DATABASE_URL=postgres://...); on SQLite the same answers are checked.
"""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.validators import validate_email
from prometheus_client import REGISTRY

from appointments.models import Customer, LeadDelivery, LeadGroup
from tests.flg.test_webhooks import FLG_LEAD

TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-limits"
User = get_user_model()


def email_of(length: int) -> str:
    """A valid address of exactly `length` characters (labels of at most 61)."""
    local, tail = "joe." + "b" * 40, ".example.com"
    need, labels = length - len(local) - 1 - len(tail), []
    while need > 61:
        labels.append("x" * 60)
        need -= 61
    labels.append("y" * need)
    email = f"{local}@{'.'.join(labels)}{tail}"
    assert len(email) == length
    validate_email(email)
    return email


@pytest.fixture
def post_lead(live_server, settings):
    settings.FLG_WEBHOOK_TOKENS = [TOKEN]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def post(**changes: str) -> requests.Response:
        url = f"{live_server.url}/flg/webhooks/leads/{TOKEN}/"
        return requests.post(url, data={**FLG_LEAD, **changes}, timeout=10)

    return post


def counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("portal_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


@pytest.mark.parametrize("length", [151, 200, 254])
def test_a_new_lead_whose_email_no_account_holds_is_skipped_for_good(post_lead, length):
    unavailable, skipped = counted("unavailable"), counted("skipped")
    response = post_lead(email=email_of(length))
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "skipped"
    assert "longer than the 150 characters" in body["reason"]
    assert not User.objects.exists() and not Customer.objects.exists()
    assert LeadDelivery.objects.get().outcome == "skipped"
    assert (counted("unavailable"), counted("skipped")) == (unavailable, skipped + 1)


def test_a_known_customer_keeps_their_address_and_the_rest_still_applies(post_lead, customer):
    response = post_lead(id=customer.lead_id, email=email_of(151), status="Dead")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "updated"
    assert "keeps its address" in body["reason"]
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert (customer.user.email, customer.flg_status) == ("casey@example.com", "Dead")

    again = post_lead(id=customer.lead_id, email=email_of(151), status="Dead").json()
    assert again["outcome"] == "skipped"
    assert list(LeadDelivery.objects.values_list("outcome", flat=True)) == ["skipped", "updated"]


def test_every_other_field_longer_than_its_column_is_cut_to_fit(post_lead):
    response = post_lead(
        firstname="F" * 400,
        lastname="L" * 400,
        status="S" * 400,
        leadgroupname="G" * 400,
        email=email_of(150),
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "created"
    user = Customer.objects.select_related("user").get().user
    assert (len(user.email), len(user.first_name), len(user.last_name)) == (150, 150, 150)
    assert len(Customer.objects.get().flg_status) == 100
    assert len(LeadGroup.objects.get().name) == 200
