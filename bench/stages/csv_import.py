"""Staff work at scale: a 2 MB customer CSV (about 35,000 new customers) previewed and then
confirmed on the admin's import page, over HTTP as a member of staff does it, each in one
request to the portal under gunicorn; and the same file previewed again once imported.

Alone: `python -m bench.stages.csv_import` sets up as the full run does, runs only this stage
and writes its figures under "csv_import" in bench/results.json, leaving the rest as it was.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from django_otp.oath import totp

from bench import clients
from bench.report import say
from bench.servers import Portal
from bench.workspace import manage

MAX_BYTES = 2 * 1024 * 1024  # the import's own limit (appointments/importing.py)
STAFF_EMAIL = "bench-staff@example.com"
STAFF_PASSWORD = "bench-staff-password-1"
# The bench's staff member's authenticator app: the admin asks for its code after the password.
STAFF_TOTP_KEY = "62656e63682d73746166662d746f74702d6b6579"
EXISTING_GROUP = 101  # bench/seed.py's lead group
NEW_GROUP = 9001  # created by the import, named on its rows
FIRST_LEAD = 3_000_000  # far above bench/seed.py's customers' lead ids
PAYLOAD = re.compile(r'name="payload" value="([^"]+)"')
SUMMARY = re.compile(r"Preview: ([^<]+)</h2>")
IMPORTED = re.compile(r"Imported: [^<]+")


@dataclass(frozen=True)
class CsvImport:
    rows: int
    size_bytes: int
    preview_s: float  # upload and preview page: every row checked, nothing written
    preview_summary: str
    confirm_s: float  # the confirm: checked again and written, in one transaction
    confirm_message: str
    customers_created: int  # counted in the database afterwards
    repeat_preview_s: float  # the same file again: 35,000 existing customers, all unchanged
    repeat_summary: str
    preview_page_bytes: int
    load_average: float  # the machine's, as the stage began: others' work slows it


def csv_text() -> tuple[str, int]:
    """As many new customers as fit in the import's 2 MB, one in fifty in a new lead group."""
    lines = ["email,first_name,last_name,lead_id,lead_group_id,lead_group_name\n"]
    size, n = len(lines[0]), 0
    while True:
        group = f"{NEW_GROUP},Imported group" if n % 50 == 0 else f"{EXISTING_GROUP},"
        line = f"customer.{n:05d}@example.net,First{n % 97},Last{n % 89},{FIRST_LEAD + n},{group}\n"
        if size + len(line.encode()) > MAX_BYTES:
            return "".join(lines), n
        lines.append(line)
        size += len(line.encode())
        n += 1


def run(portal: Portal) -> CsvImport:
    load_average = os.getloadavg()[0]
    text, rows = csv_text()
    say(f"CSV import: {rows:,} new customers in {len(text.encode()) / 1024 / 1024:.2f} MB…")
    staff_create(portal)
    client = admin_signed_in(portal.url)
    url = portal.url + "/admin/appointments/customer/import/"
    before = customers(portal)

    preview_s, page = preview(client, url, text)
    payload = _found(PAYLOAD, page, "the preview has no Confirm button")
    token = clients.form_token(page)
    started = time.perf_counter()
    answer = client.post(
        url,
        {"payload": payload, "csrfmiddlewaretoken": token},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=600,
    )
    confirm_s = time.perf_counter() - started
    if answer.status_code != 302:
        raise RuntimeError(f"The confirm answered {answer.status_code}, not 302")
    say(f"  preview {preview_s:.2f} s, confirm {confirm_s:.2f} s")
    done = client.get(urljoin(url, answer.headers["Location"]), timeout=60).text
    created = customers(portal) - before

    repeat_s, again = preview(client, url, text)
    figures = CsvImport(
        rows=rows,
        size_bytes=len(text.encode()),
        preview_s=round(preview_s, 2),
        preview_summary=_found(SUMMARY, page, "no summary"),
        confirm_s=round(confirm_s, 2),
        confirm_message=_found(IMPORTED, done, "no 'Imported' message after the confirm"),
        customers_created=created,
        repeat_preview_s=round(repeat_s, 2),
        repeat_summary=_found(SUMMARY, again, "no summary"),
        preview_page_bytes=len(page.encode()),
        load_average=round(load_average, 2),
    )
    say(
        f"  preview {figures.preview_s} s ({figures.preview_summary}); confirm "
        f"{figures.confirm_s} s ({figures.customers_created:,} customers written); the same file "
        f"again {figures.repeat_preview_s} s ({figures.repeat_summary})"
    )
    return figures


def preview(client: requests.Session, url: str, text: str) -> tuple[float, str]:
    """Upload the file for a preview: the seconds it took and the page."""
    token = clients.form_token(client.get(url, timeout=60).text)
    started = time.perf_counter()
    answer = client.post(
        url,
        {"csrfmiddlewaretoken": token},
        files={"file": ("customers.csv", text.encode(), "text/csv")},
        headers={"Referer": url},
        timeout=600,
    )
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"The preview answered {answer.status_code}, not 200")
    return seconds, answer.text


def staff_create(portal: Portal) -> None:
    code = (
        "from accounts import services; "
        f"u = services.user_create(email={STAFF_EMAIL!r}, password={STAFF_PASSWORD!r}); "
        "u.is_staff = u.is_superuser = True; u.save(); "
        "from django_otp.plugins.otp_totp.models import TOTPDevice; "
        f"TOTPDevice.objects.create(user=u, name='bench', key={STAFF_TOTP_KEY!r})"
    )
    manage(portal.workspace, "shell", "-c", code)


def admin_signed_in(portal: str) -> requests.Session:
    client = requests.Session()
    url = portal + "/admin/login/"
    page = client.get(url, timeout=30)
    answer = client.post(
        url,
        {
            "username": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "next": "/admin/",
            "csrfmiddlewaretoken": clients.form_token(page.text),
        },
        headers={"Referer": url},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"The admin sign-in answered {answer.status_code}")
    code_page = portal + "/accounts/two-factor/"
    page = client.get(code_page, timeout=30)
    answer = client.post(
        code_page,
        {
            "code": f"{totp(bytes.fromhex(STAFF_TOTP_KEY)):06d}",
            "next": "/admin/",
            "csrfmiddlewaretoken": clients.form_token(page.text),
        },
        headers={"Referer": code_page},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"The admin's two-factor code page answered {answer.status_code}")
    return client


def customers(portal: Portal) -> int:
    code = "from appointments.models import Customer; print(Customer.objects.count())"
    return int(manage(portal.workspace, "shell", "-c", code).strip().splitlines()[-1])


def _found(pattern: re.Pattern[str], page: str, why: str) -> str:
    match = pattern.search(page)
    if match is None:
        raise RuntimeError(f"The import page is not as expected: {why}")
    return match.group(1) if pattern.groups else match.group(0)


if __name__ == "__main__":
    from bench.runner import main

    sys.exit(main(only="csv_import"))
