"""Diagnostics for staff: prove FLG_DOMAIN, the key and its permission without a session.

The client says what FLG answered; this module says what that means and what to change.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings

from flg.errors import FlgError, FlgKeyInvalid, FlgUnavailable
from flg.sessions import probe_status, probe_type

FULL_TEST = "manage.py flg_check --lead <lead id> --type <appointment type id>"
WRONG_KEY_PREFIX = "flg-check-wrong-key-"


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of `check_connection`: whether it works, what to change, and what was seen."""

    ok: bool
    summary: str
    advice: str = ""
    steps: tuple[str, ...] = ()


def _unreachable_advice() -> str:
    return (
        f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain and that this "
        "server can reach it over HTTPS (DNS, firewall, proxy); if FLG 360 itself is down, "
        "try again later."
    )


def _busy(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def check() -> ConnectionCheck:
    """Prove the domain, the key and its Appointments permission without creating a session."""
    # Two requests without a lead: a deliberately wrong key must get 401 (FLG checks the key
    # before the body), then the configured key must get 400 (lead not specified), which only
    # a valid key with Appointments permission can reach.
    if not settings.FLG_BASE_URL:
        return ConnectionCheck(
            False,
            "FLG_DOMAIN is not set.",
            "Set FLG_DOMAIN to your FLG 360 domain, e.g. demo.flg360.co.uk.",
        )
    if not settings.FLG_API_KEY:
        return ConnectionCheck(
            False,
            "No access key is configured: FLG_API_KEY and FLG_API_KEY_FILE are both unset.",
            "Set FLG_API_KEY (or FLG_API_KEY_FILE, the path of a file holding it) to an FLG 360 "
            "access key with 'Allow access to Appointments' ticked.",
        )
    steps: list[str] = []

    def result(ok: bool, summary: str, advice: str = "") -> ConnectionCheck:
        return ConnectionCheck(ok, summary, advice, tuple(steps))

    step = "A deliberately wrong key"
    try:
        wrong = probe_status(key=WRONG_KEY_PREFIX + secrets.token_hex(16))
        steps.append(f"{step}: FLG answered {wrong}" + (" as it should." if wrong == 401 else "."))
        if _busy(wrong):
            return result(
                False, f"FLG 360 is busy or unavailable ({wrong}).", "Try again in a few minutes."
            )
        if wrong != 401:
            hint = (
                " A redirect usually means FLG_DOMAIN is not the exact FLG 360 domain."
                if 300 <= wrong <= 399
                else ""
            )
            return result(
                False,
                f"The check cannot conclude: FLG answered {wrong} to a deliberately wrong key "
                f"instead of 401, so its answer to the configured key would prove nothing.{hint}",
                f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain, then "
                f"run the full test, which creates a real session: {FULL_TEST}.",
            )
        step = "The configured key, without a lead"
        status = probe_status()
        steps.append(f"{step}: FLG answered {status}.")
    except FlgKeyInvalid as exc:
        steps.append(f"{step}: not sent.")
        return result(
            False,
            exc.detail,
            "Copy the key again from FLG 360 (Settings > Configuration > Access Keys) into "
            "FLG_API_KEY or the file FLG_API_KEY_FILE names.",
        )
    except FlgUnavailable as exc:
        steps.append(f"{step}: no answer. {exc.detail}")
        return result(False, f"FLG 360 could not be reached: {exc.detail}", _unreachable_advice())
    except FlgError as exc:
        steps.append(f"{step}: an answer we cannot use. {exc.detail}")
        return result(
            False,
            f"FLG 360 answered something unexpected: {exc.detail}",
            f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain and not "
            "another site.",
        )
    if status == 400:
        return result(True, "FLG 360 accepted the access key, and the key may use Appointments.")
    if status == 401:
        return result(
            False,
            "FLG 360 says the access key is invalid (401).",
            "Copy the key again from FLG 360 (Settings > Configuration > Access Keys) into "
            "FLG_API_KEY or the file FLG_API_KEY_FILE names.",
        )
    if status == 403:
        return result(
            False,
            "The access key is valid but may not use Appointments (403).",
            "In FLG 360 go to Settings > Configuration > Access Keys, open the key and tick "
            "'Allow access to Appointments'.",
        )
    if _busy(status):
        return result(
            False, f"FLG 360 is busy or unavailable ({status}).", "Try again in a few minutes."
        )
    return result(
        False,
        f"FLG 360 answered {status}, which the check does not expect.",
        f"Check that FLG_DOMAIN ({settings.FLG_BASE_URL}) is your FLG 360 domain, then run the "
        f"full test, which creates a real session: {FULL_TEST}.",
    )


# --- Is an appointment type id known? -------------------------------------------------------

KNOWN = "known"
UNKNOWN = "unknown"
UNDECIDED = "undecided"
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)


@dataclass(frozen=True)
class TypeCheck:
    """Whether FLG knows an appointment type id: KNOWN, UNKNOWN or UNDECIDED, and why."""

    verdict: str
    summary: str


def _said(message: str) -> str:
    return _UUID.sub("<id>", message).strip().casefold()


def type_check(*, appointment_type: uuid.UUID) -> TypeCheck:
    """Whether FLG knows this appointment type id, without creating a session.

    The connection check's method: FLG has no endpoint that reads a type, so both the id and a
    random one (which FLG cannot know) are sent with a lead that cannot exist. FLG refuses
    both (400). When it refuses the id in other words than the random one, it knows the id;
    when it refuses both alike, saying the type could not be found, it does not. Any other
    answer (one message for every refusal, the lead checked first, an outage) is UNDECIDED.
    """
    try:
        control = probe_type(appointment_type=uuid.uuid4())
        answer = probe_type(appointment_type=appointment_type)
    except FlgError as exc:
        return TypeCheck(UNDECIDED, f"FLG 360 could not be asked: {exc.detail}")
    if control.status != 400:
        return TypeCheck(
            UNDECIDED,
            f"FLG 360 answered {control.status} to an id it cannot know, instead of 400 "
            "(run Check FLG connection on the appointment type list).",
        )
    if answer.status == 200 or (
        answer.status == 400 and _said(answer.message) != _said(control.message)
    ):
        return TypeCheck(KNOWN, "FLG 360 knows this appointment type id.")
    if answer.status != 400:
        return TypeCheck(UNDECIDED, f"FLG 360 answered {answer.status}, which says nothing.")
    said = _said(control.message)
    if "type" in said and "lead" not in said:
        return TypeCheck(
            UNKNOWN,
            f"FLG 360 does not know this appointment type id. FLG said: {answer.message}",
        )
    return TypeCheck(
        UNDECIDED,
        "FLG 360's answer does not say whether it knows this appointment type id. "
        f"FLG said: {answer.message}",
    )
