"""FLG 360's lead webhook: what a delivery looks like on the wire, read into a typed value.

FLG posts a lead's fields form-encoded (`application/x-www-form-urlencoded`), one field per
attribute, under its own names. It signs nothing and documents no delivery id, retries or
order. Unknown fields are ignored, every field but `id` is optional and an empty field counts
as absent. Of the address, phone numbers and date of birth FLG also sends, nothing is kept: the
portal has no use for them. Raw form fields never leave this module.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl

CONTENT_TYPE = "application/x-www-form-urlencoded"
# Far more than any lead FLG sends (a few hundred bytes), small enough to read into memory.
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 500
# As long as a lead id may be (the portal's Customer.lead_id holds 20 digits).
MAX_LEAD_ID_LENGTH = 20
# The largest lead group id a PostgreSQL integer column holds.
MAX_LEAD_GROUP_ID = 2_147_483_647

# Every field FLG documents for a lead webhook, in its order. The sandbox sends the same set.
DOCUMENTED_FIELDS = (
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


@dataclass(frozen=True)
class LeadPayload:
    """One lead as FLG pushed it: only the fields the portal keeps; "" where FLG sent none."""

    lead_id: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    full_name: str = ""
    lead_group_id: int | None = None
    lead_group_name: str = ""
    status: str = ""
    lead_type: str = ""


class DeliveryInvalid(Exception):
    """The delivery cannot be a lead from FLG; `code` and `message` go back to the sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_form(content_type: str) -> bool:
    """True for FLG's content type (its parameters, such as a charset, aside)."""
    return content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE


def _clean(value: str) -> str:
    # Control characters (a NUL, say) have no place in a name and a database may refuse them.
    kept = "".join(" " if unicodedata.category(c) == "Cc" else c for c in value)
    return " ".join(kept.split())


def _fields(body: bytes, charset: str | None) -> dict[str, str]:
    try:
        encoding = codecs.lookup(charset or "utf-8").name
    except LookupError:
        encoding = "utf-8"
    try:
        text = body.decode(encoding, errors="replace")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            encoding=encoding,
            errors="replace",
        )
    except (ValueError, UnicodeError):
        raise DeliveryInvalid(
            "malformed", f"The body is not a form FLG would send (at most {MAX_FIELDS} fields)."
        ) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        # A repeated field: the last one counts, as in Django's own form handling.
        fields[name.strip().lower()] = _clean(value)
    return fields


def _lead_id(fields: dict[str, str]) -> str:
    lead_id = fields.get("id", "")
    if not lead_id:
        raise DeliveryInvalid("missing_id", "The delivery has no lead id (the field 'id').")
    if not (lead_id.isascii() and lead_id.isdigit()):
        raise DeliveryInvalid("invalid_id", "The lead id (the field 'id') must be digits only.")
    if len(lead_id) > MAX_LEAD_ID_LENGTH:
        raise DeliveryInvalid(
            "invalid_id",
            f"The lead id (the field 'id') is longer than {MAX_LEAD_ID_LENGTH} digits.",
        )
    return lead_id


def _lead_group_id(fields: dict[str, str]) -> int | None:
    raw = fields.get("leadgroupid", "")
    if not raw:
        return None
    valid = raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_LEAD_GROUP_ID))
    if not valid or not 0 < int(raw) <= MAX_LEAD_GROUP_ID:
        raise DeliveryInvalid(
            "invalid_lead_group", "The lead group id (the field 'leadgroupid') must be a number."
        )
    return int(raw)


def payload_parse(body: bytes, *, charset: str | None = None) -> LeadPayload:
    """Read a form-encoded delivery; raises DeliveryInvalid when it cannot be a lead."""
    fields = _fields(body, charset)
    return LeadPayload(
        lead_id=_lead_id(fields),
        email=fields.get("email", ""),
        first_name=fields.get("firstname", ""),
        last_name=fields.get("lastname", ""),
        full_name=fields.get("fullname", ""),
        lead_group_id=_lead_group_id(fields),
        lead_group_name=fields.get("leadgroupname", ""),
        status=fields.get("status", ""),
        lead_type=fields.get("leadtype", ""),
    )
