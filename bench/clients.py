"""A customer as a plain HTTP client, one request at a time: for the counting pass and the CPU
measurement, where locust's concurrency would only blur what is counted."""

from __future__ import annotations

import re

import requests

TYPE_SLUG = "consultation"
PASSWORD = "bench-password-1"  # bench/seed.py's customers
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE_TOKEN = re.compile(r'data-csrf-token="([^"]+)"')


def form_token(html: str) -> str:
    """The CSRF token of a page's form."""
    return _found(TOKEN, html)


def page_token(html: str) -> str:
    """The CSRF token a session page gives its script, for the refresh."""
    return _found(PAGE_TOKEN, html)


def _found(pattern: re.Pattern[str], html: str) -> str:
    match = pattern.search(html)
    if match is None:
        raise RuntimeError(f"No CSRF token ({pattern.pattern}) in the page")
    return match.group(1)


def signed_in(portal: str, number: int) -> requests.Session:
    client = requests.Session()
    page = client.get(portal + "/accounts/login/", timeout=30)
    answer = client.post(
        portal + "/accounts/login/",
        {
            "username": f"bench-{number}@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": form_token(page.text),
        },
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"Sign-in as bench-{number} answered {answer.status_code}")
    return client


def start(portal: str, client: requests.Session) -> str:
    """POST a plain start (as a customer's first click) and return the session page's path."""
    home = client.get(portal + "/", timeout=30)
    answer = client.post(
        portal + f"/book/{TYPE_SLUG}/",
        {"csrfmiddlewaretoken": form_token(home.text)},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"A start answered {answer.status_code}, not 303")
    return answer.headers["Location"]
