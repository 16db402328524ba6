"""Reading a customer import's CSV file: its text, its columns and its rows, each with its line.

Nothing here knows a customer's rules (appointments.customers) or the database
(appointments.importing): a file that cannot be read is refused with what a person can fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader  # the type of csv.reader()

REQUIRED_COLUMNS = ["email", "first_name", "last_name", "lead_id", "lead_group_id"]
OPTIONAL_COLUMNS = ["lead_group_name"]
MAX_BYTES = 2 * 1024 * 1024


class ImportRefused(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the file; nothing was imported.")
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


# --- Reading the file -------------------------------------------------------------------------


def text_decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ImportRefused([RowError(0, f"The file is over {MAX_BYTES // 1024 // 1024} MB.")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            [
                RowError(
                    0,
                    "The file is not UTF-8 text. In Excel choose Save As > "
                    "'CSV UTF-8 (Comma delimited)' and try again.",
                )
            ]
        ) from None


def csv_reader(text: str) -> Reader:
    first_line = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def header_read(reader: Reader) -> list[str]:
    try:
        names = next(reader)
    except StopIteration:
        raise ImportRefused([RowError(0, "The file is empty.")]) from None
    except csv.Error as exc:
        raise ImportRefused([RowError(1, f"the line cannot be read as CSV ({exc})")]) from None
    header = [_column(name) for name in names]
    named = [c for c in header if c]
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise ImportRefused([RowError(1, f"the column(s) {', '.join(twice)} appear twice")])
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportRefused(
            [
                RowError(
                    1,
                    f"missing column(s): {', '.join(missing)}. The first line must name the "
                    f"columns {', '.join(REQUIRED_COLUMNS)} (and optionally lead_group_name).",
                )
            ]
        )
    return header


def records_read(reader: Reader, errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank row with the line it starts on (a quoted value may span lines)."""
    end = reader.line_num
    while True:
        line = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(RowError(line, f"the line cannot be read as CSV ({exc})"))
            return
        end = reader.line_num
        if any(v.strip() for v in values):
            yield line, values


# --- Files for staff: the template, and the rows a partial import left out --------------------

REFUSED_COLUMNS = ["line", "problem"]
EXAMPLE_ROW = ["casey@example.com", "Casey", "Customer", "108123759", "101", "Homeowners"]


@dataclass(frozen=True)
class RefusedRow:
    """A row the import left out: its line, its values as the file had them, and why."""

    line: int
    values: list[str]
    problem: str


def template_csv() -> str:
    """The header row the import expects and one example row, for staff to fill in."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    writer.writerow(EXAMPLE_ROW)
    return out.getvalue()


def refused_csv(*, header: list[str], rows: list[RefusedRow]) -> str:
    """The refused rows under the file's own header, each with its line and its problem: fix
    them and import this file again."""
    # A file that is itself a list of refused rows has these two columns already.
    keep = [i for i, name in enumerate(header) if name not in REFUSED_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header[i] for i in keep] + REFUSED_COLUMNS)
    for row in rows:
        values = row.values + [""] * len(header)
        writer.writerow([values[i] for i in keep] + [row.line, row.problem])
    return out.getvalue()
