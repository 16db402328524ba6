"""The one rule for secrets in URLs, and the handlers that apply it to every line.

Real gunicorn's output is searched in test_secrets_in_logs.py; here the rule itself, the
configured handlers of both processes (Django's and gunicorn's master), and runserver's lines.
"""

from __future__ import annotations

import json
import logging
import logging.config
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from hypothesis import given
from hypothesis import strategies as st

from bookingportal.logging import (
    JsonFormatter,
    MaskSecretsFilter,
    PlainFormatter,
    escape_controls,
    mask_secrets,
)
from tests.processes import ROOT, clean_env, free_port

TOKEN = "1.tpkd9s.AAAAAQ0H6KzUCTzhsYZijdHh"

# --- The rule ---------------------------------------------------------------------------------

SECRET_PATHS = [
    "/accounts/login/link/{t}/",
    "/book/initial-consultation/link/{t}/",
    "/accounts/reset/MQ/{t}/",
    "/accounts/invite/MQ/{t}/",
    "/flg/webhooks/leads/{t}/",
    "/your-data/delete/link/{t}/",
    "/sandbox/appointments/book/{t}",
    "https://platform.getflg.com/appointments/book/{t}",
]


@pytest.mark.parametrize("shape", SECRET_PATHS)
@pytest.mark.parametrize(
    "after",
    ["", "/", "?next=/book/x/", "/junk/after", "%3E.", ">", '" 404', "' ", " HTTP/1.1", "#x"],
)
def test_a_token_is_masked_whatever_follows_it(shape, after):
    path = shape.format(t=TOKEN).rstrip("/") + after
    masked = mask_secrets(f"GET {path} 404 1.0ms")
    assert TOKEN not in masked
    assert "[token]" in masked
    # The prefix stays, so the line still says what was asked for.
    assert shape.split("{t}")[0] + "[token]" in masked


@pytest.mark.parametrize(
    "text",
    [
        f"/ACCOUNTS/Login/LINK/{TOKEN}/",  # a mail client's capitals: still a working token
        f"/accounts//login/link/{TOKEN}",
        f"/accounts/login/?next=%2Fbook%2Fa%2Flink%2F{TOKEN}%2F",
        f"/portal/accounts/login/link/{TOKEN}/",  # under a path prefix
        f"Referer: http://host/book/a/link/{TOKEN}/",
        f"('/flg/webhooks/leads/{TOKEN}',)",
    ],
)
def test_a_token_is_masked_however_the_path_is_written(text):
    assert TOKEN not in mask_secrets(text)


@pytest.mark.parametrize(
    "page",
    [
        "/accounts/login/link/",
        "/accounts/login/link/sent/",
        "/accounts/login/link/continue/",
        "/accounts/login/link/?next=/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/invite/MQ/set-password/",
        "/accounts/invite/new/",
        "/accounts/reset/done/",
        "/accounts/password_reset/done/",
        "/book/initial-consultation/link/",
        "/your-data/delete/confirm/",
        "/your-data/delete/email/",
        "/book/initial-consultation/",
        "/book/initial-consultation/session/4da80d92-e6fb-432e-a631-aea2b1e97a05/",
        "/sandbox/api/v2/appointment-sessions",
        "GET /healthz 200 0.4ms",
    ],
)
def test_pages_without_a_secret_are_left_as_they_are(page):
    assert mask_secrets(page) == page


segment = st.text(
    alphabet=st.characters(blacklist_characters="/?#\"'<>\\", blacklist_categories=["Z", "C"]),
    min_size=1,
    max_size=60,
).filter(lambda s: "%2f" not in s.lower())
anything = st.text(max_size=40)


@given(token=segment, before=anything, after=anything, prefix=st.sampled_from(SECRET_PATHS))
def test_no_token_survives_masking(token, before, after, prefix):
    if prefix.startswith("/accounts/login/link/") and token.lower() in {"sent", "continue"}:
        return  # pages, not tokens
    if "/MQ/" in prefix and token.lower() == "set-password":
        return
    text = before + prefix.format(t=token) + after
    masked = mask_secrets(text)
    assert prefix.format(t="[token]") in masked


@given(text=st.text())
def test_masking_twice_changes_nothing(text):
    once = mask_secrets(text)
    assert mask_secrets(once) == once


@given(text=st.text())
def test_an_escaped_message_is_one_line(text):
    assert len((escape_controls(text) + "x").splitlines()) == 1


def test_control_characters_are_written_out():
    assert escape_controls("a\nb\rc\td\x00\x1b\x7f\x85\u2028") == (
        "a\\nb\\rc\\td\\x00\\x1b\\x7f\\x85\\u2028"
    )


# --- The handlers -------------------------------------------------------------------------------


def record(msg, *args, exc_info=None, **extra):
    made = logging.LogRecord("django.request", logging.ERROR, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_the_filter_masks_the_final_message_its_path_and_its_traceback():
    try:
        raise ValueError(f"no page at /book/a/link/{TOKEN}/")
    except ValueError:
        line = record(
            "Service Unavailable: %s", f"/flg/webhooks/leads/{TOKEN}/", exc_info=sys.exc_info()
        )
    line.path = f"/accounts/login/link/{TOKEN}"
    assert MaskSecretsFilter().filter(line)
    assert line.getMessage() == "Service Unavailable: /flg/webhooks/leads/[token]/"
    assert line.path == "/accounts/login/link/[token]"
    assert TOKEN not in (line.exc_text or "") and "/book/a/link/[token]/" in line.exc_text


def test_plain_lines_cannot_be_forged():
    forged = "2026-01-01 00:00:00,000 CRITICAL [-] forged FORGED"
    try:
        raise ValueError("bad\n" + forged)
    except ValueError:
        line = record("GET /x\n%s 404", forged, exc_info=sys.exc_info())
    text = PlainFormatter().format(line)
    assert "GET /x\\n2026-01-01" in text
    assert not any(row.startswith(forged) for row in text.splitlines())


def test_json_lines_cannot_be_forged_either():
    line = record("GET %s 404", '/x\r\n{"level": "CRITICAL"}\x0b\x1b\x85\u2028')
    text = JsonFormatter().format(line)
    assert len(text.splitlines()) == 1
    assert not any(ch < " " or ch >= "\x7f" for ch in text)
    assert json.loads(text)["message"].startswith("GET /x\r\n{")


def handlers_of_every_logger():
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    return {(logger.name, handler) for logger in loggers for handler in logger.handlers}


def masks(handler) -> bool:
    return any(isinstance(f, MaskSecretsFilter) for f in handler.filters)


@pytest.fixture
def restore_logging():
    # dictConfig replaces the handlers of the loggers it names: put the suite's back after.
    saved = {
        name: list(lg.handlers)
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    root = list(logging.root.handlers)
    yield
    for name, handlers in saved.items():
        logging.getLogger(name).handlers = handlers
    logging.root.handlers = root


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_every_handler_django_configures_masks(log_format, restore_logging):
    from django.utils.log import DEFAULT_LOGGING

    config = json.loads(json.dumps(django_settings.LOGGING))
    config["handlers"]["console"]["formatter"] = log_format
    # As Django does: its defaults first, then ours.
    logging.config.dictConfig(DEFAULT_LOGGING)
    logging.config.dictConfig(config)
    found = [
        (name, handler)
        for name, handler in handlers_of_every_logger()
        if not type(handler).__module__.startswith("_pytest")  # the suite's own capture
        and not isinstance(handler, logging.NullHandler)
    ]
    assert found
    assert [(n, h) for n, h in found if not masks(h)] == []
    # runserver's lines reach a handler that masks (and in the chosen format).
    server = logging.getLogger("django.server")
    assert server.getEffectiveLevel() == logging.WARNING
    assert server.propagate and not server.handlers


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_gunicorns_own_log_masks_and_its_access_log_is_off(log_format, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", log_format)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = conf["logconfig_dict"]
    for handler in config["handlers"].values():
        assert handler["filters"] == ["mask_secrets"]
        assert handler["formatter"] == log_format
    assert config["loggers"]["gunicorn.access"]["level"] == "CRITICAL"
    assert conf["accesslog"] is None


# --- runserver (make run) ---------------------------------------------------------------------


@pytest.mark.subprocess
@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_runservers_lines_hold_no_token(tmp_path: Path, log_format):
    port = free_port()
    out = (tmp_path / "runserver.log").open("w")
    env = clean_env(
        DEBUG="1",
        LOG_FORMAT=log_format,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail((tmp_path / "runserver.log").read_text())
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        assert (
            requests.get(f"{base}/accounts/login/link/{TOKEN}/junk", timeout=10).status_code == 404
        )
        assert requests.get(f"{base}/flg/webhooks/leads/{TOKEN}/", timeout=10).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
        out.close()
    text = (tmp_path / "runserver.log").read_text()
    assert "/accounts/login/link/[token]/junk" in text  # django.server's line, masked
    assert TOKEN not in text
    assert TOKEN.rsplit(".", 1)[1] not in text


# --- Reset and invitation links: Django moves their token into the session -------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["reset", "invite"])
def test_reset_and_invitation_links_leave_the_address_before_rendering(client, customer, kind):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(customer.user.pk))
    from accounts.invites import invite_token_generator

    generator = invite_token_generator if kind == "invite" else default_token_generator
    token = generator.make_token(customer.user)
    opened = client.get(f"/accounts/{kind}/{uid}/{token}/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/accounts/{kind}/{uid}/set-password/"
    assert opened["Referrer-Policy"] == "no-referrer"
    page = client.get(opened["Location"])
    assert page.status_code == 200
    assert token not in page.content.decode()
    # The page's own form must still carry an Origin for Django's CSRF check.
    assert page["Referrer-Policy"] == "same-origin"
    # An altered link renders its page where it is, but sends no Referer from there.
    altered = client.get(f"/accounts/{kind}/{uid}/{token[:-1]}x/")
    assert altered["Referrer-Policy"] == "no-referrer"
