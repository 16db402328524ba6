"""`manage.py flg_check` tells an admin whether FLG is set up right, against the sandbox."""

from __future__ import annotations

import io
import socket
import uuid

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from flg_sandbox import models as sandbox_models
from tests.flg.test_contract import Recorder

LEAD = "108123759"
OTHER_LEAD = "108123760"


@pytest.fixture
def flg_ready(sandbox, type_for_all, type_for_homeowners, inactive_type):
    sandbox_models.Lead.objects.create(lead_id=LEAD, lead_group_id=101)
    sandbox_models.Lead.objects.create(lead_id=OTHER_LEAD, lead_group_id=102)
    sandbox.mirror()
    return sandbox


@pytest.fixture
def command_line(settings):
    """`manage.py flg_check` as a shell runs it, less the second logging set-up.

    ManagementUtility runs django.setup() again, and its logging set-up would make new handlers
    on capsys's stream, which closes with the test: every later line on them (the live
    server's, in later tests) would fail with "--- Logging error ---".
    """
    settings.LOGGING_CONFIG = None
    return lambda: ManagementUtility(["manage.py", "flg_check"]).execute()


def flg_check(*args: str) -> str:
    out = io.StringIO()
    call_command("flg_check", *args, stdout=out)
    return out.getvalue()


def flg_check_fails(*args: str) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("flg_check", *args, stdout=out)
    return out.getvalue() + str(error.value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def statuses() -> list[int]:
    return list(sandbox_models.ApiCall.objects.order_by("pk").values_list("status", flat=True))


def test_it_passes_with_the_good_key(flg_ready):
    out = flg_check()
    assert "OK: FLG 360 accepted the access key, and the key may use Appointments." in out
    assert f"FLG 360:        {flg_ready.base_url}" in out
    assert f"Booking hosts:  {flg_ready.url.removeprefix('http://')}" in out
    assert "A deliberately wrong key: FLG answered 401 as it should." in out
    assert "The configured key, without a lead: FLG answered 400." in out
    assert flg_ready.GOOD_KEY not in out


def test_it_proves_the_key_with_a_wrong_key_first_and_creates_no_session(flg_ready):
    flg_check()
    assert statuses() == [401, 400]
    assert sandbox_models.Session.objects.count() == 0


def test_it_lists_the_active_types_with_their_lead_groups(flg_ready):
    out = flg_check()
    assert "Initial consultation  39594a1c-72db-4990-a63f-8d5139a5e4e1  All lead groups" in out
    assert "Home survey  4da80d92-e6fb-432e-a631-aea2b1e97a05  lead group Homeowners (101)" in out
    assert "Winter check" not in out


def test_it_exits_zero_from_the_command_line(flg_ready, command_line, capsys):
    command_line()
    assert "OK:" in capsys.readouterr().out


def test_it_explains_a_key_without_appointments(flg_ready, settings):
    settings.FLG_API_KEY = flg_ready.NO_APPOINTMENTS_KEY
    text = flg_check_fails()
    assert "valid but may not use Appointments (403)" in text
    assert "Settings > Configuration > Access Keys" in text
    assert "tick 'Allow access to Appointments'" in text
    assert flg_ready.NO_APPOINTMENTS_KEY not in text


def test_it_explains_a_wrong_key(flg_ready, settings):
    settings.FLG_API_KEY = "typo-in-the-key"
    text = flg_check_fails()
    assert "access key is invalid (401)" in text
    assert "FLG_API_KEY or the file FLG_API_KEY_FILE names" in text
    assert "typo-in-the-key" not in text


def test_it_explains_a_key_pasted_with_a_curly_quote(flg_ready, settings):
    settings.FLG_API_KEY = "sandbox-appointments-key\u2019"
    text = flg_check_fails()
    assert "copy it again" in text
    assert "sandbox-appointments-key" not in text
    assert statuses() == [401]


def test_it_explains_a_host_where_nothing_listens(settings, db):
    settings.FLG_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    text = flg_check_fails()
    assert "FLG 360 could not be reached: FLG refused the connection" in text
    assert f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain" in text
    assert settings.FLG_API_KEY not in text


def test_it_exits_non_zero_from_the_command_line_when_it_fails(settings, db, command_line, capsys):
    settings.FLG_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(SystemExit) as exit_:
        command_line()
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert "could not be reached" in captured.err
    assert settings.FLG_API_KEY not in captured.out + captured.err


def test_it_says_flg_is_busy_when_it_answers_503(flg_ready):
    flg_ready.fault("503")
    text = flg_check_fails()
    assert "busy or unavailable (503)" in text
    assert "Try again in a few minutes" in text


def test_it_cannot_conclude_when_a_wrong_key_is_not_refused(settings, db):
    server = Recorder(lambda s, r: (400, {}, b'{"message": "lead not specified"}'))
    settings.FLG_BASE_URL = server.url
    try:
        text = flg_check_fails()
    finally:
        server.shutdown()
        server.server_close()
    assert "The check cannot conclude: FLG answered 400 to a deliberately wrong key" in text
    assert "flg_check --lead <lead id> --type <appointment type id>" in text
    assert len(server.requests) == 1


def test_it_cannot_conclude_when_the_domain_redirects(settings, db):
    server = Recorder(lambda s, r: (301, {"location": "https://example.com/"}, b""))
    settings.FLG_BASE_URL = server.url
    try:
        text = flg_check_fails()
    finally:
        server.shutdown()
        server.server_close()
    assert "cannot conclude: FLG answered 301" in text
    assert "FLG_DOMAIN is not the exact FLG 360 domain" in text


def test_it_names_the_missing_domain(settings, db):
    settings.FLG_BASE_URL = ""
    assert "FLG_DOMAIN is not set." in flg_check_fails()


def test_it_names_the_missing_key(settings, db):
    settings.FLG_API_KEY = ""
    text = flg_check_fails()
    assert "FLG_API_KEY and FLG_API_KEY_FILE are both unset" in text
    assert "Access key:     (not set)" in text


# --- The full test: a real session -----------------------------------------------------------


def test_the_full_test_creates_a_session_and_shows_it(flg_ready, type_for_all):
    out = flg_check("--lead", LEAD, "--type", str(type_for_all.flg_id))
    assert "OK: FLG 360 created an appointment session." in out
    session = sandbox_models.Session.objects.get()
    assert f"closesAt:  {session.closes_at.isoformat(timespec='milliseconds')[:23]}" in out
    assert f"publicUrl: {flg_ready.url}/sandbox/appointments/book/{session.token}" in out
    assert flg_ready.GOOD_KEY not in out


def test_the_full_test_explains_a_lead_group_mismatch(flg_ready, type_for_homeowners):
    text = flg_check_fails("--lead", OTHER_LEAD, "--type", str(type_for_homeowners.flg_id))
    assert "FLG 360 could not create a session" in text
    assert "lead group" in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--lead", "12a", "--type", str(uuid.uuid4())], "--lead '12a' is not a lead id"),
        (["--lead", " 12", "--type", str(uuid.uuid4())], "digits only"),
        (["--lead", "12", "--type", "nope"], "--type 'nope' is not an appointment type id"),
        (["--lead", "12"], "needs both --lead ID and --type UUID"),
        (["--type", str(uuid.uuid4())], "needs both"),
    ],
)
def test_the_full_test_explains_bad_arguments_before_calling_flg(settings, db, args, words):
    server = Recorder(lambda s, r: (500, {}, b""))
    settings.FLG_BASE_URL = server.url
    try:
        with pytest.raises(CommandError, match=words):
            call_command("flg_check", *args, stdout=io.StringIO())
    finally:
        server.shutdown()
        server.server_close()
    assert server.requests == []
