"""The bench's floor (bench/floor/, bench/stages/floor.py): each step stops where it says, so
the figures it prints mean what they say."""

from __future__ import annotations

import io

import pytest

from bench import report
from bench.floor import BARE
from bench.stages import floor

pytestmark = pytest.mark.urls("bench.floor.urls")


def test_a_signed_in_customer_gets_the_floor_pages_and_home_as_ever(
    customer_client, type_for_all, type_for_homeowners
):
    assert customer_client.get("/_floor/signed-in/").content == b"ok"
    # Home's own reads, counted: the two types this customer may book, no bookings yet.
    assert customer_client.get("/_floor/home-unrendered/").content == b"2"
    home = customer_client.get("/")
    assert home.status_code == 200
    assert type_for_homeowners.name in home.content.decode()


def test_the_floor_pages_ask_a_signed_out_visitor_to_sign_in(client, db):
    for path in ("/_floor/signed-in/", "/_floor/home-unrendered/"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/")


def test_gunicorn_alone_is_answered_before_django_and_the_rest_goes_on_to_the_portal(db):
    from bench.floor.wsgi import application

    def call(path: str) -> tuple[str, bytes]:
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
        }
        body = application(environ, lambda answer, headers: status.append(answer))
        return status[0], b"".join(body)

    assert call(BARE) == ("200 OK", b"ok")
    assert call("/healthz") == ("200 OK", b"ok")
    status, _ = call("/_floor/signed-in/")
    assert status.startswith("302")  # Django's: no one is signed in


def test_the_floor_figures_say_what_each_step_adds_and_prints_them(capsys):
    measured = {
        "bare": 0.25,
        "healthz": 0.75,
        "signed_in": 1.75,
        "home_unrendered": 2.0,
        "home": 2.5,
    }
    figures = floor.figures({name: {"cpu_ms": cpu, "errors": 0} for name, cpu in measured.items()})
    assert figures["added_ms"] == {
        "healthz": 0.5,
        "signed_in": 1.0,
        "home_unrendered": 0.25,
        "home": 0.5,
    }
    assert figures["healthz_ratio"] == {"signed_in": 0.43, "home_unrendered": 0.38, "home": 0.3}
    report.print_floor(figures)
    printed = capsys.readouterr().out
    assert "a signed-in page that does nothing else" in printed
    assert "1.75 ms  (+1.0 ms)  0.43" in printed
    # The first step has nothing before it to add to, nor a ratio.
    bare = next(line for line in printed.splitlines() if "gunicorn alone" in line)
    assert bare.endswith(" 0.25 ms")
