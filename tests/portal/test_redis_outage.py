"""Redis is a help, never a dependency: with it dead or stalled every page still answers."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import PASSWORD, staff_sign_in

START_URL = "/book/initial-consultation/"
LIMIT_S = 2.0
# Faster than one look at a stalled Redis (bookingportal.cache.SOCKET_TIMEOUT, 0.25 s), with
# room for a loaded machine: a request this quick cannot have waited on the cache.
UNTOUCHED_S = 0.2


@pytest.fixture
def cast(sandbox, customer, type_for_all, settings):
    sandbox.mirror()
    # Password hashing takes a second or more on a busy machine, with or without Redis; what
    # is measured here is what the cache adds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    customer.user.set_password(PASSWORD)
    customer.user.save()
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    return sandbox


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def signed_in_clients(customer):
    customer_client = Client(raise_request_exception=False)
    customer_client.force_login(customer.user)
    staff = Client(raise_request_exception=False)
    staff_sign_in(staff, get_user_model().objects.get(username="root"))
    return customer_client, staff


def walk_the_site(customer_client, staff) -> dict[str, tuple[int, float]]:
    """Every page the issue names, each answered below LIMIT_S and never with a 500."""
    seen = {}

    response, took = timed(customer_client.get, "/")
    seen["home"] = (response.status_code, took)
    assert response.status_code == 200
    assert "Initial consultation" in response.text

    response, took = timed(customer_client.post, START_URL)
    seen["start"] = (response.status_code, took)
    assert response.status_code == 303, response.content[:500]
    page_url = response["Location"]

    response, took = timed(customer_client.get, page_url)
    seen["session page"] = (response.status_code, took)
    assert response.status_code == 200

    response, took = timed(customer_client.post, page_url + "refresh/")
    seen["refresh"] = (response.status_code, took)
    assert response.status_code == 200
    assert response.json()["publicUrl"]

    response, took = timed(
        Client(raise_request_exception=False).post,
        "/accounts/login/",
        {"username": "casey@example.com", "password": PASSWORD},
    )
    seen["sign-in"] = (response.status_code, took)
    assert response.status_code == 302

    response, took = timed(staff.get, "/admin/")
    seen["admin"] = (response.status_code, took)
    assert response.status_code == 200
    response, took = timed(staff.get, "/admin/appointments/customer/")
    seen["admin list"] = (response.status_code, took)
    assert response.status_code == 200

    response, took = timed(Client().get, "/healthz")
    seen["healthz"] = (response.status_code, took)
    assert response.status_code == 200

    slow = {name: took for name, (_, took) in seen.items() if took >= LIMIT_S}
    assert not slow, slow
    return seen


def wait_until_the_cache_is_back(client: Client, *, within: float = 15.0) -> dict:
    deadline = time.monotonic() + within
    while True:
        body = client.get("/readyz").json()
        if body.get("cache") == "ok" or time.monotonic() > deadline:
            return body
        time.sleep(0.25)


def session_keys(redis_cache) -> list[bytes]:
    return [key for key in redis_cache.client().keys("*") if b"django.contrib.sessions" in key]


def test_the_site_works_with_redis_up_and_keeps_sessions_in_the_database(
    redis_cache, cast, customer
):
    from django.contrib.sessions.models import Session

    customer_client, staff = signed_in_clients(customer)
    walk_the_site(customer_client, staff)
    # Sessions are never cached (test_sign_out_final.py says why).
    assert not session_keys(redis_cache)
    assert Session.objects.filter(session_key=customer_client.cookies["sessionid"].value).exists()
    assert Client().get("/readyz").json()["cache"] == "ok"


def test_every_page_answers_while_redis_is_dead_and_again_once_it_is_back(
    redis_cache, cast, customer
):
    customer_client, staff = signed_in_clients(customer)
    redis_cache.kill()

    seen = walk_the_site(customer_client, staff)
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["cache"] == "unavailable"
    print("Redis dead:", {name: f"{took * 1000:.0f} ms" for name, (_, took) in seen.items()})

    redis_cache.start()
    assert wait_until_the_cache_is_back(Client())["cache"] == "ok"
    redis_cache.client().flushdb()  # our own Redis: start from an empty one, as after a restart
    walk_the_site(customer_client, staff)


def test_every_page_answers_while_redis_is_stalled_and_again_once_it_resumes(
    redis_cache, cast, customer
):
    customer_client, staff = signed_in_clients(customer)
    redis_cache.stall()
    try:
        seen = walk_the_site(customer_client, staff)
        ready, took = timed(Client().get, "/readyz")
        assert ready.status_code == 200
        assert ready.json()["cache"] == "unavailable"
        assert took < LIMIT_S
    finally:
        redis_cache.resume()
    print("Redis stalled:", {name: f"{took * 1000:.0f} ms" for name, (_, took) in seen.items()})

    assert wait_until_the_cache_is_back(Client())["cache"] == "ok"
    walk_the_site(customer_client, staff)


def test_a_session_signed_out_while_redis_was_out_stays_signed_out_once_it_is_back(
    redis_cache, cast, customer
):
    customer_client, _ = signed_in_clients(customer)
    assert customer_client.get("/").status_code == 200
    stolen = customer_client.cookies["sessionid"].value
    redis_cache.stall()
    try:
        assert customer_client.post("/accounts/logout/").status_code == 302
    finally:
        redis_cache.resume()
    assert wait_until_the_cache_is_back(Client())["cache"] == "ok"

    thief = Client()
    thief.cookies["sessionid"] = stolen
    response = thief.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_healthz_and_pages_without_the_session_never_touch_the_cache(redis_cache, cast, customer):
    customer_client, _ = signed_in_clients(customer)
    redis_cache.kill()
    # The access log line must not load a signed-in customer's session just to name them.
    response, took = timed(customer_client.get, "/favicon.ico")
    assert response.status_code == 301
    assert took < UNTOUCHED_S
    redis_cache.start()
    redis_cache.stall()
    try:
        for _ in range(5):
            response, took = timed(customer_client.get, "/healthz")
            assert response.status_code == 200
            assert took < UNTOUCHED_S
    finally:
        redis_cache.resume()
