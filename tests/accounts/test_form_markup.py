"""The set-password pages' markup: valid where the W3C checker looked (no list inside a
paragraph, no id twice), each field described by its hint and errors through ids that exist,
and the head tells search engines which pages are public."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import invites
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# Elements a <p> may not hold (HTML's flow content that is not phrasing content, in part).
NOT_IN_P = {"ul", "ol", "dl", "div", "p", "table", "form", "h1", "h2", "h3", "section", "pre"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
RULE = "Your password must contain at least 8 characters."
CONFIRM = "Enter the same password as before, for verification."
MISMATCH = "The two password fields didn\u2019t match."


class Page(HTMLParser):
    """Elements by id, each input's attributes, misplaced elements and the head's metas."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, str]] = []  # (tag, id) of each element not yet closed
        self.ids: list[str] = []
        self.text_by_id: dict[str, list[str]] = {}
        self.inputs: dict[str, dict[str, str]] = {}
        self.misplaced: list[str] = []
        self.meta: dict[str, str] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag in NOT_IN_P and any(open_tag == "p" for open_tag, _ in self.open):
            self.misplaced.append(f"<{tag}> inside <p>")
        if "id" in found:
            self.ids.append(found["id"])
            self.text_by_id[found["id"]] = []
        if tag == "input" and "name" in found:
            self.inputs[found["name"]] = found
        if tag == "meta" and "name" in found:
            self.meta[found["name"]] = found.get("content", "")
        if tag not in VOID:
            self.open.append((tag, found.get("id", "")))

    def handle_endtag(self, tag: str) -> None:
        if any(open_tag == tag for open_tag, _ in self.open):
            while self.open and self.open.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        for _, owner in self.open:
            if owner:
                self.text_by_id[owner].append(data)

    def description_of(self, name: str) -> str:
        """What a screen reader reads after the field's label: the texts aria-describedby names."""
        ids = self.inputs[name].get("aria-describedby", "").split()
        missing = [i for i in ids if i not in self.text_by_id]
        assert not missing, f"aria-describedby names ids not on the page: {missing}"
        return " ".join(" ".join("".join(self.text_by_id[i]).split()) for i in ids)


def parsed(response) -> Page:
    page = Page(response.content.decode())
    assert page.misplaced == []
    assert len(page.ids) == len(set(page.ids)), sorted(page.ids)
    return page


@pytest.fixture
def invite_page(customer):
    customer.user.set_unusable_password()
    customer.user.save()
    uid = urlsafe_base64_encode(force_bytes(customer.user.pk))
    token = invites.invite_token_generator.make_token(customer.user)
    client = Client()
    url = client.get(f"/accounts/invite/{uid}/{token}/", follow=True).redirect_chain[-1][0]
    return client, url


@pytest.fixture
def reset_page(customer):
    uid = urlsafe_base64_encode(force_bytes(customer.user.pk))
    token = default_token_generator.make_token(customer.user)
    client = Client()
    url = client.get(f"/accounts/reset/{uid}/{token}/", follow=True).redirect_chain[-1][0]
    return client, url


@pytest.fixture
def change_page(customer):
    client = Client()
    client.post("/accounts/login/", {"username": "casey@example.com", "password": PASSWORD})
    return client, "/accounts/password_change/"


SET_PASSWORD_PAGES = ["invite_page", "reset_page", "change_page"]


@pytest.mark.parametrize("fixture", SET_PASSWORD_PAGES)
def test_the_password_rules_are_valid_html_and_read_with_the_field(request, fixture):
    client, url = request.getfixturevalue(fixture)
    page = parsed(client.get(url))
    assert RULE in page.description_of("new_password1")
    assert page.description_of("new_password2") == CONFIRM


@pytest.mark.parametrize("fixture", SET_PASSWORD_PAGES)
def test_an_error_is_read_with_its_field_after_the_rules(request, fixture):
    client, url = request.getfixturevalue(fixture)
    sent = client.post(url, {"new_password1": "short", "new_password2": "shorter"})
    assert sent.status_code == 200
    page = parsed(sent)
    assert page.inputs["new_password2"]["aria-invalid"] == "true"
    assert page.description_of("new_password2") == f"{CONFIRM} {MISMATCH}"
    assert RULE in page.description_of("new_password1")


def test_a_field_with_several_errors_reads_them_all(invite_page):
    client, url = invite_page
    page = parsed(client.post(url, {"new_password1": "", "new_password2": ""}))
    assert "This field is required." in page.description_of("new_password1")


def test_a_plain_field_is_described_by_nothing_until_it_is_wrong(db):
    client = Client()
    assert "aria-describedby" not in parsed(client.get("/accounts/login/link/")).inputs["email"]
    wrong = parsed(client.post("/accounts/login/link/", {"email": "not an email"}))
    assert wrong.description_of("email") == "Enter a valid email address."


# --- What search engines are told ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url, words",
    [
        ("/accounts/login/", "Sign in to Acme Bookings"),
        ("/accounts/login/link/", "a link that signs you in to Acme Bookings"),
        ("/accounts/password_reset/", "Forgotten your Acme Bookings password?"),
        ("/accounts/invite/new/", "Your Acme Bookings invitation has expired?"),
    ],
)
def test_a_public_page_has_a_description_and_may_be_indexed(db, url, words):
    page = parsed(Client().get(url))
    assert words in page.meta["description"]
    assert "robots" not in page.meta


def test_the_invitation_is_described_but_kept_out_of_search_engines(invite_page):
    client, url = invite_page
    page = parsed(client.get(url))
    assert "choose a password" in page.meta["description"]
    assert page.meta["robots"] == "noindex"


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/link/sent/",
        "/accounts/password_reset/done/",
        "/accounts/invite/sent/",
        "/accounts/login/link/continue/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/invite/MQ/not-a-token/",
    ],
)
def test_a_page_reached_by_a_link_or_after_a_form_is_not_indexed(db, url):
    assert parsed(Client().get(url)).meta["robots"] == "noindex"


@pytest.mark.parametrize("url", ["/", "/accounts/password_change/"])
def test_a_signed_in_page_is_not_indexed(customer_client, url):
    page = parsed(customer_client.get(url))
    assert page.meta["robots"] == "noindex"
    assert "description" not in page.meta


def test_every_meta_is_in_the_head(db):
    html = Client().get("/accounts/login/").content.decode()
    head = html.split("</head>", 1)[0]
    assert re.search(r'<meta name="description" content="[^"]+">', head)
