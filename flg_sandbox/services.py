"""The sandbox's behaviour: FLG's order of checks, sessions, slots and fault injection."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flg_sandbox import queries
from flg_sandbox.models import ApiCall, Fault, Lead, Session

LONDON = zoneinfo.ZoneInfo("Europe/London")
SLOT_DAYS = 3
SLOT_HOURS = range(9, 17)


class ApiRefusal(Exception):
    """An answer other than 200, with FLG's status and a short message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fault_current() -> Fault:
    """The fault row, created on first use."""
    fault, _ = Fault.objects.get_or_create(pk=1)
    return fault


def fault_set(
    *, mode: str, latency_ms: int = 0, hang_seconds: int = 30, times: int | None = None
) -> Fault:
    """Switch fault injection on for every process (it lives in the database)."""
    fault, _ = Fault.objects.update_or_create(
        pk=1,
        defaults={
            "mode": mode,
            "latency_ms": latency_ms,
            "hang_seconds": hang_seconds,
            "times": times,
        },
    )
    return fault


def fault_clear() -> Fault:
    """Answer normally again, with no added latency."""
    return fault_set(mode=Fault.Mode.NONE)


def fault_take(fault: Fault) -> str:
    """The fault mode to apply to a call, from the row read as it arrived (call_read).

    Only a fault limited to a number of `times` writes: it is taken again under the row's lock,
    so that calls at once use up exactly that many.
    """
    if fault.mode == Fault.Mode.NONE:
        return Fault.Mode.NONE
    if fault.times is None:
        return fault.mode
    return _fault_take_limited()


@transaction.atomic
def _fault_take_limited() -> str:
    fault = Fault.objects.select_for_update().filter(pk=1).first()
    if fault is None or fault.mode == Fault.Mode.NONE:
        return Fault.Mode.NONE
    if fault.times is not None:
        if fault.times <= 1:
            Fault.objects.filter(pk=1).update(mode=Fault.Mode.NONE, times=None)
        else:
            Fault.objects.filter(pk=1).update(times=F("times") - 1)
        if fault.times <= 0:
            return Fault.Mode.NONE
    return fault.mode


def api_call_count() -> int:
    """How many requests reached the API endpoint."""
    return ApiCall.objects.count()


def api_call_record(
    *, status: int, lead: str = "", appointment_type: str = "", fault: str = ""
) -> None:
    """Count one call (the bench and the tests read the count back)."""
    queries.insert(
        _api_call(status=status, lead=lead, appointment_type=appointment_type, fault=fault)
    )


def _api_call(*, status: int, lead: str, appointment_type: str, fault: str = "") -> ApiCall:
    return ApiCall(
        status=status, lead=lead[:200], appointment_type=appointment_type[:200], fault=fault
    )


def bearer_key(header: str) -> str | None:
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def call_read(*, key: str | None, body: object) -> queries.CallRead:
    """Everything a call to the API reads, in one query as it arrives: the fault in force, the
    key, and the type and lead the body names (the checks themselves are session_create's)."""
    lead_id = type_id = None
    if isinstance(body, dict):
        if body.get("lead") not in (None, ""):
            lead_id = str(body["lead"]).strip()
        try:
            type_id = uuid.UUID(str(body.get("appointmentType", "")).strip())
        except ValueError:
            type_id = None
    return queries.call_read(key=key, lead_id=lead_id, type_id=type_id)


def session_create(
    *, call: queries.CallRead, body: object, lead: str, appointment_type: str
) -> Session:
    """FLG's checks in FLG's order (401, then 403, then 400), then a new session. The call is
    counted either way (`lead` and `appointment_type` as it gave them); with the session it
    made, in the same round trip."""
    try:
        session = _session_checked(call=call, body=body)
    except ApiRefusal as refusal:
        api_call_record(status=refusal.status, lead=lead, appointment_type=appointment_type)
        raise
    queries.insert(session, _api_call(status=200, lead=lead, appointment_type=appointment_type))
    return session


def _session_checked(*, call: queries.CallRead, body: object) -> Session:
    if call.key_allows is None:
        raise ApiRefusal(401, "The authorization token or key is invalid.")
    if not call.key_allows:
        raise ApiRefusal(403, "The key does not have access to Appointments.")
    if not isinstance(body, dict):
        raise ApiRefusal(400, "The request body must be a JSON object.")
    lead_id = body.get("lead")
    type_id = body.get("appointmentType")
    if lead_id in (None, "") or type_id in (None, ""):
        raise ApiRefusal(400, "The appointment type or lead were not specified.")
    # The type first, then the lead: FLG's document names them in that order, and a portal can
    # then learn whether a type id is known without a session (flg.connection.type_check).
    if call.type_id is None:
        raise ApiRefusal(400, "The appointment type could not be found.")
    lead = call.lead
    # Only a lead id FLG could hold (digits) is learned on first use.
    learnable = settings.FLG_SANDBOX_AUTO_LEADS and str(lead_id).strip().isdigit()
    if lead is None and not learnable:
        raise ApiRefusal(400, "The lead could not be found.")
    if settings.FLG_SANDBOX_AUTO_LEADS and (lead is None or lead.lead_group_id is None):
        lead = lead_learn(lead_id=str(lead_id).strip(), lead_group_id=call.type_group_id)
    if lead is None:  # not reached: refused above unless leads are learned
        raise ApiRefusal(400, "The lead could not be found.")
    if call.type_group_id is not None and call.type_group_id != lead.lead_group_id:
        raise ApiRefusal(400, "The lead's lead group does not match the appointment's lead group.")
    now = timezone.now()
    return Session(
        lead=lead,
        appointment_type_id=call.type_id,
        created_at=now,
        closes_at=now + dt.timedelta(seconds=settings.FLG_SANDBOX_SESSION_TTL),
    )


def lead_learn(*, lead_id: str, lead_group_id: int | None) -> Lead:
    """Demo mode (FLG_SANDBOX_AUTO_LEADS): a lead the sandbox has not met is created on first
    use, in the lead group of the type it asks for, so any customer a newcomer adds can book.

    A lead first seen asking for a type open to all groups joins a group later, with the first
    type of a group it asks for (the portal only offers types of the customer's own group).
    """
    lead, _ = Lead.objects.get_or_create(
        lead_id=lead_id[:20], defaults={"name": "Created on first use"}
    )
    if lead.lead_group_id is None and lead_group_id is not None:
        lead.lead_group_id = lead_group_id
        lead.save(update_fields=["lead_group_id"])
    return lead


def format_closes_at(moment: dt.datetime) -> str:
    """FLG's documented form: UTC, milliseconds, Z (2020-01-05T09:55:31.735Z)."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# Each slot lasts this long: the booking screen reports its start and its end.
SLOT_LENGTH = dt.timedelta(minutes=45)


@dataclass(frozen=True)
class Slot:
    value: str
    starts_at: dt.datetime

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + SLOT_LENGTH

    @property
    def label(self) -> str:
        return f"{self.starts_at:%A %-d %B, %H:%M}"


def slots_for(*, session: Session, now: dt.datetime | None = None) -> list[Slot]:
    """Hourly slots on the next working days after today, London time."""
    now = (now or timezone.now()).astimezone(LONDON)
    day = now.date()
    slots: list[Slot] = []
    days = 0
    while days < SLOT_DAYS:
        day += dt.timedelta(days=1)
        if day.weekday() >= 5:
            continue
        days += 1
        for hour in SLOT_HOURS:
            starts = dt.datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)
            slots.append(Slot(value=starts.strftime("%Y-%m-%dT%H:%M"), starts_at=starts))
    return slots


@transaction.atomic
def session_book(*, session: Session, slot_value: str) -> Slot | None:
    """Book a slot and close the session; None when the slot is not one on offer."""
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if not locked.is_open:
        return None
    chosen = next((s for s in slots_for(session=locked) if s.value == slot_value), None)
    if chosen is None:
        return None
    locked.booked_slot = chosen.starts_at
    locked.closed_at = timezone.now()
    locked.save(update_fields=["booked_slot", "closed_at"])
    session.booked_slot, session.closed_at = locked.booked_slot, locked.closed_at
    return chosen


# --- The lead webhook: FLG pushing a lead to a URL the business set up -----------------------

# Every field FLG documents for a lead webhook, in its order; those the sandbox has no value
# for go empty, as FLG sends them.
WEBHOOK_FIELDS = (
    "id",
    "title",
    "firstname",
    "lastname",
    "fullname",
    "address",
    "address1",
    "address2",
    "address3",
    "towncity",
    "postcode",
    "email",
    "phone1",
    "phone2",
    "fax",
    "dob",
    "dobday",
    "dobmonth",
    "dobyear",
    "company",
    "jobtitle",
    "leadgroupid",
    "leadgroupname",
    "leadtype",
    "siteid",
    "sitename",
    "status",
    "userid",
    "username",
    "progress",
    "source",
    "medium",
    "term",
)
# (connect, read) seconds: an admin page waits on this, and a portal that hangs must not hold it.
WEBHOOK_TIMEOUT = (3, 5)


@dataclass(frozen=True)
class WebhookSent:
    """What happened to one delivery: whether the receiver took it, and a line for the admin."""

    ok: bool
    message: str


def lead_webhook_fields(*, lead: Lead) -> dict[str, str]:
    """The lead as FLG's webhook sends it: FLG's field names, every one, empty when unknown."""
    fields = dict.fromkeys(WEBHOOK_FIELDS, "")
    fields.update(
        {
            "id": lead.lead_id,
            "title": lead.title,
            "firstname": lead.first_name,
            "lastname": lead.last_name,
            "fullname": lead.full_name,
            "email": lead.email,
            "leadgroupid": "" if lead.lead_group_id is None else str(lead.lead_group_id),
            "leadgroupname": lead.lead_group_name,
            "leadtype": "General",
            "status": lead.status,
        }
    )
    return fields


def lead_webhook_send(*, lead: Lead, url: str | None = None) -> WebhookSent:
    """POST the lead form-encoded to the webhook URL (FLG_SANDBOX_WEBHOOK_URL), as FLG would."""
    url = url if url is not None else settings.FLG_SANDBOX_WEBHOOK_URL
    if not url:
        return WebhookSent(False, "No webhook sent: FLG_SANDBOX_WEBHOOK_URL is not set.")
    # The URL holds the receiver's secret: messages name its host only.
    where = urlsplit(url).netloc
    try:
        response = requests.post(
            url, data=lead_webhook_fields(lead=lead), timeout=WEBHOOK_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        return WebhookSent(
            False, f"Lead {lead.lead_id}: the webhook to {where} failed ({type(exc).__name__})."
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    summary = ""
    if isinstance(answer, dict):
        summary = str(answer.get("outcome") or answer.get("error") or "")
        detail = answer.get("reason") or answer.get("message")
        if detail:
            summary += f": {detail}"
    ok = response.status_code == 200
    if response.is_redirect:
        # Followed, a POST would arrive as a GET: say where it went (most often to https).
        summary = f"a redirect to {urlsplit(response.headers.get('Location', '')).scheme or '?'}:"
        summary += " set FLG_SANDBOX_WEBHOOK_URL to the address the portal answers at"
    said = f" ({summary})" if summary else ""
    return WebhookSent(
        ok, f"Lead {lead.lead_id}: the webhook to {where} answered {response.status_code}{said}."
    )
