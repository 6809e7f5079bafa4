"""Reading a college list: CSV (UTF-8 or Windows-1251, any separator) or one XLSX sheet, and finding its columns."""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.importing.options import ImportFileError, ImporterError, ImportUsageError
from knowledge.text import folded_key

HEADER_SEARCH_ROWS = 10  # official lists often put a title or two above the header row
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name_ru", "наименование", "наименование организации", "наименование организации образования",
             "наименование колледжа", "наименование учебного заведения", "наименование организации типпо",
             "наименование организации типо", "полное наименование", "название", "название колледжа",
             "атауы", "ұйымның атауы", "білім беру ұйымының атауы", "колледждің атауы", "оқу орнының атауы",
             "name", "college", "college name"),
    "city": ("город", "населенный пункт", "город/район", "город / район", "қала", "елді мекен", "city", "town",
             "locality"),
    "region": ("область", "регион", "область/город", "облыс", "өңір", "облыс/қала", "region", "oblast"),
    "address": ("адрес", "юридический адрес", "фактический адрес", "мекенжай", "мекен-жай", "мекенжайы",
                "заңды мекенжайы", "address"),
    "specialities": ("specialities_codes", "коды специальностей", "код специальности", "специальности", "специальность", "шифр",
                     "шифр специальности", "шифры специальностей", "мамандықтар", "мамандық коды",
                     "мамандықтардың кодтары", "мамандық шифры", "specialities", "specialties", "speciality codes",
                     "codes"),
    "ownership": ("форма собственности", "меншік нысаны", "собственность", "ownership", "form of ownership"),
    "website": ("сайт", "веб-сайт", "интернет-ресурс", "интернет-сайт", "website", "web site", "site", "url"),
    "phone": ("телефон", "телефоны", "контактный телефон", "контактные телефоны", "байланыс телефоны", "phone",
              "telephone", "tel"),
    "name_kk": ("наименование на казахском языке", "наименование на казахском", "атауы қазақ тілінде",
                "қазақша атауы", "name_kk", "name (kazakh)"),
    "source": ("источник", "дереккөз", "source"),
    "year": ("год", "жыл", "year", "as of", "as_of"),
    "source_detail": ("примечание", "ескертпе", "source_detail", "note", "notes"),
}
# What openpyxl raises on a damaged workbook (XML parse errors are SyntaxErrors); the admin needs one line.
XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, KeyError, IndexError, ValueError, TypeError, AttributeError, OSError,
               EOFError, SyntaxError, RuntimeError)


@dataclass
class Table:
    """The cells of one sheet as text, each row with its number as the file numbers it."""

    file: str
    sheet: str  # empty for CSV
    rows: list[tuple[int, list[str]]]


def read_table(path: Path, sheet: str | None = None) -> Table:
    """The rows of a CSV file or of one XLSX sheet, as text; a file that cannot be read is an ImportFileError."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        if sheet:
            raise ImportUsageError("--sheet is for Excel files; a CSV file has one table")
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix == ".xls":
        raise ImportFileError(f"{path.name}: old Excel .xls files cannot be read; save it as .xlsx or CSV")
    raise ImportFileError(f"{path.name}: not a CSV or XLSX file; save the list as .csv or .xlsx")


def _read_csv(path: Path) -> Table:
    """CSV in UTF-8 (with or without BOM) or Windows-1251, separated by `,` `;` or tab."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise ImportFileError(f"{path.name}: the file is empty")
    if b"\x00" in data:
        raise ImportFileError(f"{path.name}: binary data, not a CSV text file; save the list as CSV or XLSX")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel on Russian Windows saves CSV in cp1251; it decodes almost any bytes, so it comes second.
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            raise ImportFileError(f"{path.name}: neither UTF-8 nor Windows-1251 text; save it as CSV UTF-8") from None
    delimiter = _sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(f"{path.name}: not a readable CSV file ({exc})") from None
    # csv.reader counts records, not lines; a quoted cell with line breaks still counts as one row in Excel.
    return Table(path.name, "", [(number, [cell.strip() for cell in row]) for number, row in enumerate(rows, 1)])


def _sniff_delimiter(text: str) -> str:
    """The separator of the first non-empty line: whichever of `;` tab `,` it holds most of."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    """One sheet of an XLSX workbook: the first, or the one `--sheet` names."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, *XLSX_ERRORS) as exc:
        raise ImportFileError(f"{path.name}: not a readable Excel file ({one_line(exc)}); "
                              "open it in Excel and save it again as .xlsx") from None
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise ImportUsageError(f"--sheet {sheet!r}: no such sheet; the workbook has: "
                                   + ", ".join(f"«{name}»" for name in workbook.sheetnames))
        rows = [(number, [_cell_text(value) for value in row])
                for number, row in enumerate(worksheet.iter_rows(min_row=1, values_only=True), 1)]
        return Table(path.name, worksheet.title, rows)
    except ImporterError:
        raise
    except XLSX_ERRORS as exc:
        raise ImportFileError(f"{path.name}: the sheet cannot be read ({one_line(exc)})") from None
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """A cell as the text the sheet shows: phone numbers typed as numbers lose no digits and gain no `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_columns(table: Table, mapping: dict[str, str], need_region: bool) -> tuple[int, dict[str, int], list[str]]:
    """The header row, the column of each field, and the headers not imported; missing required ones are errors."""
    header_row, header = _header_row(table, mapping)
    found = ", ".join(f"«{h}»" for h in header if h) or "(none)"
    columns: dict[str, int] = {}
    for name, wanted in mapping.items():
        matches = [i for i, h in enumerate(header) if folded_key(h) == folded_key(wanted)]
        if not matches:
            raise ImportUsageError(f"--map {name}={wanted}: no such column in row {header_row}; the columns are: "
                                   f"{found}")
        columns[name] = matches[0]
    for index, text in enumerate(header):
        name = _field_of(text)
        if name and name not in columns and index not in columns.values():
            columns[name] = index
    missing = [n for n in ("name", "region") if n not in columns and (n == "name" or need_region)]
    if missing:
        what = " and ".join({"name": "the college name", "region": "the region"}[n] for n in missing)
        hint = " or give --region" if "region" in missing else ""
        raise ImportFileError(f"{table.file}: no column for {what}; the columns (row {header_row}) are: {found}. "
                              f"Say which one it is with --map {missing[0]}=HEADER{hint}")
    ignored = [h for i, h in enumerate(header) if h and i not in columns.values()]
    return header_row, columns, ignored


def _header_row(table: Table, mapping: dict[str, str]) -> tuple[int, list[str]]:
    """The first row naming a known column or a `--map` header; the first non-empty row otherwise."""
    wanted = {folded_key(h) for h in mapping.values()}
    candidates = [(n, row) for n, row in table.rows if any(row)][:HEADER_SEARCH_ROWS]
    if not candidates:
        raise ImportFileError(f"{table.file}: no rows at all")
    for number, row in candidates:
        if any(folded_key(cell) in wanted or _field_of(cell) == "name" for cell in row if cell):
            return number, row
    return candidates[0]


def _field_of(header: str) -> str | None:
    """The field a header names, by the common Russian, Kazakh and English headers."""
    key = folded_key(header)
    bare = folded_key(re.sub(r"\(.*?\)", " ", header))  # «Адрес (юридический)» is still the address
    for name, aliases in HEADER_ALIASES.items():
        if any(folded_key(a) in (key, bare) for a in aliases):
            return name
    return None



def one_line(exc: Exception) -> str:
    """The first line of an exception's message, or its class name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
