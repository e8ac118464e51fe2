"""Reading a contacts CSV as spreadsheets save it: pure functions, no database.

* UTF-8 with or without a byte order mark (Excel's "CSV UTF-8" writes one, Google
  Sheets does not). Anything else is refused with where it stopped being UTF-8:
  guessing a legacy code page would import wrong names silently.
* `,` or `;`, decided by the header line: Excel writes `;` where the decimal mark is
  a comma (de, fr, ...). The header is made of our column names, which hold
  neither, so whichever of the two it contains more of (outside quotes) is the
  delimiter; csv.Sniffer guesses from data rows instead, and commas inside
  names or attribute values mislead it.
* Quoted fields may hold the delimiter, quotes ("") and line breaks.
* Each record knows its `line` in the file (where it starts: a quoted line break
  makes a record span lines, so later records are further down) and its `row` as
  a spreadsheet numbers it (the header is row 1; blank rows count).
"""

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from api.contacts.models import ERASED_PREFIX
from api.domain_errors import Invalid

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
FIELDS = ("external_id", "email", "first_name", "last_name", "locale", "stage", "unsubscribed")
ATTRIBUTE_PREFIX = "attr."
MAX_ATTRIBUTE_NAME = 64


class CsvProblem(Invalid):
    """The file as a whole cannot be imported; `fields` says where, when it can."""


class TooLarge(CsvProblem):
    code = "payload_too_large"


@dataclass(frozen=True)
class Record:
    line: int
    row: int
    cells: list[str]
    lines: int = 1  # how many lines of the file it spans


@dataclass(frozen=True)
class Column:
    field: str  # one of FIELDS, or "attributes"
    attribute: str | None = None


def decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise CsvProblem(
            code="not_utf8",
            message=f'The file is not UTF-8 (line {line}). Save it as "CSV UTF-8" (Excel) or '
            "download it as CSV (Google Sheets).",
        ) from None


def delimiter(text: str) -> str:
    header, quoted = [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char in "\r\n":
                break
            header.append(char)
    return ";" if header.count(";") > header.count(",") else ","


def records(text: str, separator: str) -> Iterator[Record]:
    """Every record, the header first (row 1), blank ones included.

    Not strict: a stray quote inside a field is kept as written (as spreadsheets read
    it), so one odd cell spoils its own row, never the file.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    row, line = 0, 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CsvProblem(
                code="malformed_csv", message=f"The file is not valid CSV at line {line}: {error}."
            ) from None
        row += 1
        yield Record(line, row, cells, reader.line_num - line + 1)
        line = reader.line_num + 1


def is_blank(record: Record) -> bool:
    return not any(cell.strip() for cell in record.cells)


def _name(cell: str) -> str:
    return "_".join(cell.strip().lower().replace("-", " ").split())


def columns(header: Record) -> list[Column | None]:
    """What each header cell names; unknown, repeated or missing names are refused."""
    found: list[Column | None] = []
    unknown, repeated, seen = [], [], set()
    for cell in header.cells:
        if not cell.strip():
            found.append(None)  # an unnamed column (a trailing separator) is ignored
            continue
        stripped = cell.strip()
        if stripped.lower().startswith(ATTRIBUTE_PREFIX):
            name = stripped[len(ATTRIBUTE_PREFIX) :].strip()
            column = Column("attributes", name)
            if not name or len(name) > MAX_ATTRIBUTE_NAME:
                unknown.append(stripped)
        elif _name(cell) in FIELDS:
            column = Column(_name(cell))
        else:
            unknown.append(stripped)
            column = None
        key = (column.field, column.attribute) if column else None
        if key in seen:
            repeated.append(stripped)
        seen.add(key)
        found.append(column)
    problems = {}
    if unknown:
        problems["header"] = [
            f"Unknown columns: {', '.join(unknown)}. Use {', '.join(FIELDS)} or "
            f"{ATTRIBUTE_PREFIX}<name> (a name of 1 to {MAX_ATTRIBUTE_NAME} characters)."
        ]
    if repeated:
        problems.setdefault("header", []).append(f"Repeated columns: {', '.join(repeated)}.")
    if ("external_id", None) not in seen:
        problems.setdefault("header", []).append("An external_id column is required.")
    if problems:
        raise CsvProblem("The header row cannot be used.", code="invalid_header", fields=problems)
    return found


def fields_of(header: list[Column | None], record: Record) -> tuple[dict, str | None]:
    """A record's non-empty cells as contact fields, and why its shape is wrong, if it is.

    An empty cell changes nothing (a spreadsheet cannot tell empty from absent);
    a row shorter than the header has empty cells at its end.
    """
    cells = record.cells
    shape = None
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
        shape = f"This row has {len(cells)} cells; the header has {len(header)}."
    data: dict = {}
    attributes: dict = {}
    for column, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if column is None or not value:
            continue
        if column.attribute is not None:
            attributes[column.attribute] = value
        else:
            data[column.field] = value
    if attributes:
        data["attributes"] = attributes
    return data, shape


# Where a line of the file ends, as `records` counts lines: after \n, \r\n or a lone \r.
_LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def erased(
    content: bytes, separator: str, names: Callable[[dict], bool]
) -> tuple[bytes, list[int]]:
    """`content` with each row whose fields `names` picks replaced, and those rows' numbers.

    A replacement holds no data and spans as many lines as the row did, so every other
    row keeps its bytes, its line and its row. It is one quoted cell, `erased:` and the
    row's line breaks: not blank, so rows are still counted as they were, and never
    importable, as that prefix is reserved in external ids (a reader still tells it by
    its row number, not its text).
    """
    text = decode(content)
    reading = records(text, separator)
    header = columns(next(reading))
    picked = [
        record for record in reading if not is_blank(record) and names(fields_of(header, record)[0])
    ]
    if not picked:
        return content, []
    lines = _LINE_ENDS.split(text)
    for record in picked:
        spanned = range(record.line - 1, record.line - 1 + record.lines)
        ends = [lines[index][len(lines[index].rstrip("\r\n")) :] for index in spanned]
        for index in spanned:
            lines[index] = ""
        lines[spanned[0]] = f'"{ERASED_PREFIX}{"".join(ends[:-1])}"{ends[-1]}'
    bom = codecs.BOM_UTF8 if content.startswith(codecs.BOM_UTF8) else b""
    return bom + "".join(lines).encode(), [record.row for record in picked]


@dataclass(frozen=True)
class Layout:
    """What an upload check found: enough to read the file again the same way."""

    delimiter: str
    rows: int


def inspect(content: bytes) -> Layout:
    """Check the whole file before it is accepted: size, encoding, CSV, header, rows."""
    if len(content) > MAX_BYTES:
        raise TooLarge(_too_large())
    text = decode(content)
    separator = delimiter(text)
    reading = records(text, separator)
    header = next(reading, None)
    if header is None or is_blank(header):
        raise CsvProblem("The file is empty, or its first line is.", code="empty_file")
    columns(header)
    rows = 0
    for record in reading:
        if is_blank(record):
            continue
        rows += 1
        if rows > MAX_ROWS:
            raise CsvProblem(
                code="too_many_rows",
                message=f"A CSV import takes at most {MAX_ROWS:,} rows; this file has more. "
                "Split it into several files.",
            )
    return Layout(separator, rows)


def _too_large() -> str:
    return f"A CSV import takes at most {MAX_BYTES // 2**20} MB; split the file."
