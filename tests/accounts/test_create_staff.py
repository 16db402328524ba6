"""`manage.py create_staff`: the first admin in a container, with no prompt, safe to repeat."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from tests.processes import ROOT, clean_env, manage

pytestmark = pytest.mark.django_db

GOOD = "a-long-staff-passphrase-42"


def create_staff(*args: str) -> str:
    out = io.StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "staff-password"
    path.write_text(GOOD + "\n")
    return path


def test_it_creates_a_staff_account_that_signs_in_to_the_admin(password_file):
    out = create_staff("--email", "Ops@Example.com", "--password-file", str(password_file))
    assert "Created staff account Ops@Example.com" in out
    user = get_user_model().objects.get()
    assert (user.username, user.is_staff, user.is_superuser) == ("ops@example.com", True, True)
    client = Client()
    signed_in = client.post(
        "/admin/login/?next=/admin/", {"username": "Ops@Example.com", "password": GOOD}
    )
    assert signed_in.status_code == 302
    # The password is the first step; a new account then sets up its app (two-factor).
    assert client.get("/admin/", follow=True).request["PATH_INFO"] == "/accounts/two-factor/enrol/"


def test_it_reads_the_password_from_staff_password(monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", GOOD)
    create_staff("--email", "ops@example.com")
    assert get_user_model().objects.get().check_password(GOOD)


def test_running_it_again_changes_nothing(password_file, tmp_path):
    create_staff("--email", "ops@example.com", "--password-file", str(password_file))
    other = tmp_path / "other"
    other.write_text("another-long-passphrase-7")
    out = create_staff("--email", "OPS@example.com", "--password-file", str(other))
    assert "already exists; nothing changed" in out
    user = get_user_model().objects.get()
    assert user.check_password(GOOD)


def test_reset_password_sets_an_existing_staff_accounts_password(password_file, tmp_path):
    create_staff("--email", "ops@example.com", "--password-file", str(password_file))
    other = tmp_path / "other"
    other.write_text("another-long-passphrase-7")
    out = create_staff(
        "--email", "ops@example.com", "--password-file", str(other), "--reset-password"
    )
    assert "Password of staff account ops@example.com set." in out
    assert get_user_model().objects.get().check_password("another-long-passphrase-7")


def test_it_refuses_to_turn_a_customer_into_staff_in_one_sentence(customer, password_file):
    with pytest.raises(CommandError) as refused:
        create_staff("--email", "CASEY@example.com", "--password-file", str(password_file))
    assert str(refused.value) == (
        "Nothing changed: casey@example.com is a customer's account, and a customer's account "
        "is never staff: give the staff member an account of their own, with another email "
        "address."
    )
    customer.user.refresh_from_db()
    assert not customer.user.is_staff


def test_it_sets_no_password_on_a_staff_account_that_a_customer_record_links(
    customer, password_file
):
    # A link made before the rule (appointments 0009 unlinks them): the command will not
    # vouch for the account by giving it a new password.
    get_user_model().objects.filter(pk=customer.user.pk).update(is_staff=True)
    with pytest.raises(CommandError, match="is a customer's account"):
        create_staff(
            "--email",
            "casey@example.com",
            "--password-file",
            str(password_file),
            "--reset-password",
        )
    customer.user.refresh_from_db()
    assert not customer.user.check_password(GOOD)


def test_it_refuses_a_weak_password(tmp_path):
    weak = tmp_path / "weak"
    weak.write_text("password\n")
    with pytest.raises(CommandError, match="too weak"):
        create_staff("--email", "ops@example.com", "--password-file", str(weak))
    assert not get_user_model().objects.exists()


def test_it_says_where_the_password_comes_from_when_there_is_none(monkeypatch):
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="--password-file PATH or set STAFF_PASSWORD"):
        create_staff("--email", "ops@example.com")


def test_it_says_when_the_password_file_cannot_be_read():
    with pytest.raises(CommandError, match="cannot be read"):
        create_staff("--email", "ops@example.com", "--password-file", "/nonexistent/pw")


def test_it_refuses_what_is_not_an_email(password_file):
    with pytest.raises(CommandError, match="not an email address"):
        create_staff("--email", "ops", "--password-file", str(password_file))


@pytest.mark.subprocess
def test_in_a_container_it_takes_the_password_on_standard_input(tmp_path):
    # As docs/deploy.md runs it: `... exec -i ... create_staff --password-file /dev/stdin`.
    env = {
        "SECRET_KEY": "create-staff-test-" + "s" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FLG_DOMAIN": "demo.flg360.co.uk",
    }
    assert manage("migrate", "--noinput", timeout=120, **env).returncode == 0
    done = subprocess.run(
        [
            *(sys.executable, "manage.py", "create_staff", "--email", "ops@example.com"),
            *("--password-file", "/dev/stdin"),
        ],
        cwd=ROOT,
        env=clean_env(**env),
        input=GOOD,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Created staff account ops@example.com" in done.stdout
