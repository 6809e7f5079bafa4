"""Import a regional college list (CSV or XLSX) into the knowledge base, never inventing or guessing a fact.

Decisions an admin should know:
- A speciality code that is not exactly 8 digits, or that the knowledge base does not know, is never padded or
  guessed: it is left out and reported by row; the college itself is still imported without it.
- Rows without a name, with no or an unknown region, and duplicates within the file are skipped and reported.
- An existing college (same normalised name in the same region, or the same website) keeps its id. It is updated
  only in a file the import writes (`--out`); one in a hand-written file is reported, never rewritten.
- When an existing record is updated, the fields the file gives replace the old ones; the fields it does not give
  are kept, and `provenance` says so.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.checks import citation_problem
from knowledge.loader import KnowledgeBase, load_knowledge
from knowledge.schema import CURRENT_YEAR_LIMIT, College
from knowledge.text import fold, normalise

FIELDS = ("name", "city", "region", "address", "specialities", "ownership", "website", "phone")
SLUG_LIMIT = 60
HEADER_SEARCH_ROWS = 10  # official lists often put a title or two above the header row

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("наименование", "наименование организации", "наименование организации образования",
             "наименование колледжа", "наименование учебного заведения", "наименование организации типпо",
             "наименование организации типо", "полное наименование", "название", "название колледжа",
             "атауы", "ұйымның атауы", "білім беру ұйымының атауы", "колледждің атауы", "оқу орнының атауы",
             "name", "college", "college name"),
    "city": ("город", "населенный пункт", "город/район", "город / район", "қала", "елді мекен", "city", "town",
             "locality"),
    "region": ("область", "регион", "область/город", "облыс", "өңір", "облыс/қала", "region", "oblast"),
    "address": ("адрес", "юридический адрес", "фактический адрес", "мекенжай", "мекен-жай", "мекенжайы",
                "заңды мекенжайы", "address"),
    "specialities": ("коды специальностей", "код специальности", "специальности", "специальность", "шифр",
                     "шифр специальности", "шифры специальностей", "мамандықтар", "мамандық коды",
                     "мамандықтардың кодтары", "мамандық шифры", "specialities", "specialties", "speciality codes",
                     "codes"),
    "ownership": ("форма собственности", "меншік нысаны", "собственность", "ownership", "form of ownership"),
    "website": ("сайт", "веб-сайт", "интернет-ресурс", "интернет-сайт", "website", "web site", "site", "url"),
    "phone": ("телефон", "телефоны", "контактный телефон", "контактные телефоны", "байланыс телефоны", "phone",
              "telephone", "tel"),
}

# The canonical spelling is the one the knowledge files use; the aliases are compared after `_fold`.
REGIONS: dict[str, tuple[str, ...]] = {
    "Астана": ("астана", "нур-султан", "нурсултан"),
    "Алматы": ("алматы",),
    "Шымкент": ("шымкент",),
    "область Абай": ("область абай", "абай облысы", "абайская область"),
    "Акмолинская область": ("акмолинская область", "акмола облысы"),
    "Актюбинская область": ("актюбинская область", "актобе облысы"),
    "Алматинская область": ("алматинская область", "алматы облысы"),
    "Атырауская область": ("атырауская область", "атырау облысы"),
    "Восточно-Казахстанская область": ("восточно-казахстанская область", "шыгыс казакстан облысы", "вко"),
    "Жамбылская область": ("жамбылская область", "жамбыл облысы"),
    "область Жетісу": ("область жетису", "жетису облысы", "область жетысу", "жетысу облысы"),
    "Западно-Казахстанская область": ("западно-казахстанская область", "батыс казакстан облысы", "зко"),
    "Карагандинская область": ("карагандинская область", "караганды облысы"),
    "Костанайская область": ("костанайская область", "костанай облысы"),
    "Кызылординская область": ("кызылординская область", "кызылорда облысы"),
    "Мангистауская область": ("мангистауская область", "мангистау облысы"),
    "Павлодарская область": ("павлодарская область", "павлодар облысы"),
    "Северо-Казахстанская область": ("северо-казахстанская область", "солтустик казакстан облысы", "ско"),
    "Туркестанская область": ("туркестанская область", "туркистан облысы", "туркестан облысы"),
    "область Улытау": ("область улытау", "улытау облысы"),
}

# Only words that plainly name a form of ownership; anything else (АО, НАО, учреждение) stays empty.
STATE = re.compile(r"государствен|коммунальн|мемлекеттік|\b(гккп|кгкп|гкп|ргкп|ргп|кгп|ркгп)\b", re.IGNORECASE)
PRIVATE = re.compile(r"частн|\b(тоо|жеке|жшс)\b", re.IGNORECASE)

LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
    "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "a", "g", "k", "n", "o", "u", "u", "h", "i"]))
CODE_TOKEN = re.compile(r"[\w.]*\d[\w.]*")
CITY_MARKERS = re.compile(r"^(г|город|гор|к|қ|қаласы|каласы)\.?\s+|\s+(қаласы|каласы|г|город|к|қ)\.?$")
# What openpyxl raises on a damaged workbook (XML parse errors are SyntaxErrors); the admin needs one line.
XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, KeyError, IndexError, ValueError, TypeError, AttributeError, OSError,
               EOFError, SyntaxError, RuntimeError)
# First line of every file the import writes: records in such files may be updated by a later import.
IMPORT_MARK = "# Colleges imported with `run_bot.py import colleges`"


class ImporterError(Exception):
    """The import cannot run; the message says what to change."""


class ImportUsageError(ImporterError):
    """An option is missing or wrong: `--source`, `--as-of`, `--map`, `--region`, `--sheet` or `--out`."""


class ImportFileError(ImporterError):
    """The list cannot be read: wrong format, broken file, or no header row the import understands."""


@dataclass
class ImportOptions:
    """What the admin asked for on the command line."""

    file: Path
    source: str
    as_of: int
    dry_run: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    out: Path | None = None
    sheet: str | None = None


@dataclass
class Table:
    """The cells of one sheet as text, each row with its number as the file numbers it."""

    file: str
    sheet: str  # empty for CSV
    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one row of the list."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


@dataclass
class Change:
    """What the import does to one college."""

    status: str  # added, changed, unchanged, elsewhere
    record: College
    row: int
    file: str  # knowledge file (relative to the knowledge folder) the record lives or will live in
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    """Everything the import found and did, to print as a diff."""

    table: Table
    header_row: int
    ignored_columns: list[str]
    changes: list[Change] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def of(self, status: str) -> list[Change]:
        """The changes with this status."""
        return [c for c in self.changes if c.status == status]

    @property
    def exit_code(self) -> int:
        """0 when at least one college was read from the list, 1 when none could be."""
        return 0 if self.changes else 1

    def format(self) -> str:
        """The diff, the row problems and what was written, as an admin reads them."""
        where = f", sheet «{self.table.sheet}»" if self.table.sheet else ""
        below = sum(1 for number, row in self.table.rows if number > self.header_row and any(row))
        lines = [f"{self.table.file}{where}: header in row {self.header_row}, {below} row(s) below it"]
        if self.ignored_columns:
            lines.append("columns not imported: " + ", ".join(f"«{c}»" for c in self.ignored_columns))
        for status, title, mark in (("added", "added", "+"), ("changed", "changed", "~"),
                                    ("unchanged", "unchanged", "="),
                                    ("elsewhere", "exists in another file, not changed", "!")):
            group = self.of(status)
            if not group:
                continue
            lines.append(f"{title} ({len(group)}):")
            for change in group:
                place = f" in {change.file}" if status in ("changed", "elsewhere") else f" → {change.file}"
                lines.append(f"  {mark} {change.record.id}: {change.record.name} (row {change.row}){place}")
                lines.extend(f"      {name}: {_show(old)} → {_show(new)}" for name, old, new in change.diffs)
                if status == "elsewhere":
                    lines.append(f"      {change.file} is written by hand: change it there if the list is right")
        if self.problems:
            lines.append(f"row problems ({len(self.problems)}):")
            lines.extend(f"  {p}" for p in sorted(self.problems, key=lambda p: p.row))
        lines.extend(self.notes)
        if not self.changes:
            lines.append("nothing could be imported")
        elif self.dry_run:
            lines.append("dry run: nothing written")
        elif self.written:
            lines.append("wrote " + ", ".join(self.written) + "; the bot picks it up after /reload")
        else:
            lines.append("nothing to write: the knowledge base already says all this")
        return "\n".join(lines)


def import_colleges(knowledge_dir: Path, options: ImportOptions) -> ImportReport:
    """Read the list, compare it with the knowledge base and, unless a dry run, write the colleges."""
    _check_options(options)
    kb = load_knowledge(knowledge_dir)
    table = read_table(options.file, options.sheet)
    header_row, columns, ignored = find_columns(table, options.mapping, need_region=not options.region)
    report = ImportReport(table, header_row, ignored, dry_run=options.dry_run)
    if not kb.ok:
        errors = sum(p.severity == "error" for p in kb.problems)
        report.notes.append(f"note: the knowledge base already has {errors} error(s); run `run_bot.py validate`")
    colleges = _read_colleges(table, header_row, columns, options, kb, report.problems)
    report.changes = _plan(colleges, kb, knowledge_dir, options, report.problems)
    if not options.dry_run and report.changes:
        report.written = _write(report.changes, knowledge_dir)
        if options.out and not _inside(options.out, knowledge_dir):
            report.notes.append(f"note: {options.out} is outside the knowledge folder {knowledge_dir}: "
                                "the bot does not read it")
    return report


def _check_options(options: ImportOptions) -> None:
    """Refuse options the import cannot honour, before reading anything."""
    if not options.source.strip():
        raise ImportUsageError("--source is required: name the document or page the list comes from")
    if why := citation_problem(options.source):
        raise ImportUsageError(f"--source {options.source!r} {why}")
    if not 2000 <= options.as_of <= CURRENT_YEAR_LIMIT:
        raise ImportUsageError(f"--as-of {options.as_of}: give the year the list holds for, "
                               f"2000-{CURRENT_YEAR_LIMIT}")
    unknown = sorted(set(options.mapping) - set(FIELDS))
    if unknown:
        raise ImportUsageError(f"--map {unknown[0]}=…: unknown field; use one of: {', '.join(FIELDS)}")
    if options.region is not None and not canonical_region(options.region):
        raise ImportUsageError(f"--region «{options.region}» is not a region of Kazakhstan; use one of: "
                               + ", ".join(REGIONS))
    if options.out is not None and options.out.suffix != ".yaml":
        raise ImportUsageError(f"--out {options.out}: knowledge files end in .yaml")


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`--map FIELD=HEADER` options as a dict; a malformed one is a usage error."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, header = item.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise ImportUsageError(f"--map {item!r}: write it as FIELD=HEADER, e.g. --map name=Наименование")
        mapping[name.strip().lower()] = header.strip()
    return mapping


# --- reading -----------------------------------------------------------------------------------------------


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
        raise ImportFileError(f"{path.name}: not a readable Excel file ({_one_line(exc)}); "
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
        raise ImportFileError(f"{path.name}: the sheet cannot be read ({_one_line(exc)})") from None
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
        matches = [i for i, h in enumerate(header) if _fold(h) == _fold(wanted)]
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
    wanted = {_fold(h) for h in mapping.values()}
    candidates = [(n, row) for n, row in table.rows if any(row)][:HEADER_SEARCH_ROWS]
    if not candidates:
        raise ImportFileError(f"{table.file}: no rows at all")
    for number, row in candidates:
        if any(_fold(cell) in wanted or _field_of(cell) == "name" for cell in row if cell):
            return number, row
    return candidates[0]


def _field_of(header: str) -> str | None:
    """The field a header names, by the common Russian, Kazakh and English headers."""
    key = _fold(header)
    bare = _fold(re.sub(r"\(.*?\)", " ", header))  # «Адрес (юридический)» is still the address
    for name, aliases in HEADER_ALIASES.items():
        if any(_fold(a) in (key, bare) for a in aliases):
            return name
    return None


# --- rows to records ---------------------------------------------------------------------------------------


def _read_colleges(table: Table, header_row: int, columns: dict[str, int], options: ImportOptions,
                   kb: KnowledgeBase, problems: list[RowProblem]) -> list[tuple[int, College]]:
    """A validated College per good row; every row problem goes to `problems`."""
    codes = {s.code: s.id for s in kb.specialities if s.code}
    seen: dict[str, int] = {}
    colleges: list[tuple[int, College]] = []
    for number, row in table.rows:
        if number <= header_row or not any(row):
            continue
        cells = {name: row[index].strip() if index < len(row) else "" for name, index in columns.items()}
        college = _row_to_college(number, cells, table, options, codes, problems)
        if college is None:
            continue
        keys = [f"name:{_normal_name(college.name)}|{_fold(college.city)}|{college.region}"]
        if college.website:
            keys.append(f"site:{_domain(college.website)}")
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is not None:
            problems.append(RowProblem(number, f"duplicate of row {earlier} («{college.name}»); skipped"))
            continue
        seen.update({k: number for k in keys})
        colleges.append((number, college))
    return colleges


def _row_to_college(number: int, cells: dict[str, str], table: Table, options: ImportOptions,
                    codes: dict[str, str], problems: list[RowProblem]) -> College | None:
    """One row as a College without an id yet (`id` is a placeholder), or None with the reason reported."""
    name = cells.get("name", "")
    if not name:
        problems.append(RowProblem(number, "no college name; skipped"))
        return None
    region_text = cells.get("region", "") or options.region or ""
    region = canonical_region(region_text)
    if not region_text:
        problems.append(RowProblem(number, f"«{name}» has no region; skipped (fill the cell or give --region)"))
        return None
    if not region:
        problems.append(RowProblem(number, f"region «{region_text}» is not a region of Kazakhstan; skipped"))
        return None
    specialities, texts = _specialities(number, cells.get("specialities", ""), codes, problems)
    where = f", sheet «{table.sheet}»" if table.sheet else ""
    try:
        return College(
            id="pending", name=name, city=cells.get("city", ""), region=region,
            ownership=_ownership(number, cells.get("ownership", ""), problems),
            specialities=specialities, specialities_text=texts, address=cells.get("address", ""),
            phone=cells.get("phone", ""), website=cells.get("website", ""), source=options.source,
            as_of=options.as_of, provenance=f"imported from {table.file}{where}, row {number}")
    except ValidationError as exc:
        error = exc.errors()[0]
        problems.append(RowProblem(number, f"{'.'.join(map(str, error['loc']))}: {error['msg']}; skipped"))
        return None


def _specialities(number: int, cell: str, codes: dict[str, str],
                  problems: list[RowProblem]) -> tuple[list[str], list[str]]:
    """Speciality ids for the 8-digit codes the knowledge base knows; other tokens reported, never guessed."""
    tokens = [t.strip(".") for t in CODE_TOKEN.findall(cell)]
    if not tokens:
        # Names without any code are kept as the list writes them: `specialities_text` exists for that.
        return [], [t.strip() for t in re.split(r"[;\n]", cell) if t.strip()]
    ids: list[str] = []
    for token in tokens:
        reason = ""
        if not token.isdigit():
            reason = "is not an 8-digit speciality code"
        elif len(token) != 8:
            reason = "is not 8 digits"
        elif token not in codes:
            reason = "is not in the knowledge base's specialities"
        if reason:
            problems.append(RowProblem(number, f"code {token} {reason}; not imported (the college is imported "
                                               "without it)"))
        elif codes[token] not in ids:
            ids.append(codes[token])
    return ids, []


def _ownership(number: int, text: str, problems: list[RowProblem]) -> str | None:
    """`state` or `private` only when the text plainly says so; unclear text is reported and left empty."""
    if not text:
        return None
    state, private = bool(STATE.search(text)), bool(PRIVATE.search(text))
    if state != private:
        return "state" if state else "private"
    problems.append(RowProblem(number, f"ownership «{text}» is not clearly state or private; left empty"))
    return None


def canonical_region(text: str) -> str | None:
    """The knowledge base's spelling of a region named in Russian or Kazakh, or None when it is not one."""
    key = _fold(text)
    key = re.sub(r"\bобл\b\.?", "область", key)
    key = CITY_MARKERS.sub("", key).strip()
    for canonical, aliases in REGIONS.items():
        if key == _fold(canonical) or key in {_fold(a) for a in aliases}:
            return canonical
    return None


# --- comparing with the knowledge base ---------------------------------------------------------------------


def _plan(colleges: list[tuple[int, College]], kb: KnowledgeBase, knowledge_dir: Path, options: ImportOptions,
          problems: list[RowProblem]) -> list[Change]:
    """Match each college to an existing record, or give it a new id, and say what would change."""
    by_name = {(_normal_name(c.name), c.region): c for c in kb.colleges}
    by_site = {_domain(c.website): c for c in kb.colleges if c.website}
    taken = {r.id for r in kb.all()}
    matched: dict[str, int] = {}  # existing id -> the row that matched it
    changes: list[Change] = []
    for row, college in colleges:
        target = _out_file(college.region, knowledge_dir, options)
        old = by_name.get((_normal_name(college.name), college.region)) or by_site.get(_domain(college.website))
        if old is None:
            record = college.model_copy(update={"id": _new_id(college, taken)})
            taken.add(record.id)
            changes.append(Change("added", record, row, target))
            continue
        if old.id in matched:
            problems.append(RowProblem(row, f"«{college.name}» is the same college ({old.id}) as row "
                                            f"{matched[old.id]}; skipped"))
            continue
        matched[old.id] = row
        new = _updated(old, college)
        diffs = _diffs(old, new)
        home = kb.origin.get(old.id, "")
        if not diffs:
            changes.append(Change("unchanged", old, row, home))
        elif home == target or _written_by_import(_absolute(home, knowledge_dir)):
            changes.append(Change("changed", new, row, home, diffs))
        else:
            changes.append(Change("elsewhere", old, row, home, diffs))
    return changes


def _written_by_import(path: Path) -> bool:
    """True for a file an earlier import wrote: its records may be rewritten without losing hand edits."""
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().startswith(IMPORT_MARK)
    except (OSError, UnicodeDecodeError):
        return False


def _updated(old: College, imported: College) -> College:
    """The existing record with what the file gives; fields the file leaves empty keep their old values."""
    update: dict[str, Any] = {"source": imported.source, "as_of": imported.as_of}
    for name in ("name", "city", "region", "address", "phone", "website", "ownership", "specialities",
                 "specialities_text"):
        value = getattr(imported, name)
        if value:
            update[name] = value
    if imported.source != old.source:
        update["source_kk"] = ""  # the Kazakh citation named the old source
    specialities = update.get("specialities", old.specialities)
    update["licence_return_listed"] = [s for s in old.licence_return_listed if s in specialities]
    candidate = old.model_copy(update=update)
    if not _diffs(old, candidate):
        return old
    kept = f"; fields the list does not give kept from the earlier record (source: {old.source})"
    earlier = f"; earlier provenance: {old.provenance}" if old.provenance else ""
    return College.model_validate({**candidate.model_dump(), "provenance": imported.provenance + kept + earlier})


def _diffs(old: College, new: College) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for every field that differs; provenance is bookkeeping, not a change of fact."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return [(name, before[name], after[name]) for name in before
            if name != "provenance" and before[name] != after[name]]


def _new_id(college: College, taken: set[str]) -> str:
    """A slug of the name; the city, then a number, is added when another record already has it."""
    base = slugify(college.name) or "college"
    candidates = [base]
    if college.city:
        candidates.append(_join(base, slugify(college.city)))
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while _join(candidates[-1], str(number)) in taken:
        number += 1
    return _join(candidates[-1], str(number))


def _join(base: str, suffix: str) -> str:
    """`base-suffix` within the slug limit, shortening the base rather than the suffix."""
    room = SLUG_LIMIT - len(suffix) - 1
    return f"{_trim(base, room)}-{suffix}"


def slugify(text: str, limit: int = SLUG_LIMIT) -> str:
    """Lowercase latin transliteration with hyphens, at most `limit` characters, cut at a word boundary."""
    latin = "".join(LATIN.get(ch, ch) for ch in text.lower())
    return _trim(re.sub(r"[^a-z0-9]+", "-", latin).strip("-"), limit)


def _trim(slug: str, limit: int) -> str:
    """The slug cut to `limit` characters, at a hyphen when there is one."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    return (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-")


# --- writing -----------------------------------------------------------------------------------------------


def _out_file(region: str, knowledge_dir: Path, options: ImportOptions) -> str:
    """Where a college of this region goes: `--out`, or colleges/imported-<region>.yaml."""
    if options.out is not None:
        return _relative(options.out, knowledge_dir)
    return f"colleges/imported-{slugify(region)}.yaml"


def _write(changes: list[Change], knowledge_dir: Path) -> list[str]:
    """Merge the added and changed colleges into their files; put a file back if it breaks the knowledge base."""
    by_file: dict[str, list[College]] = {}
    for change in changes:
        if change.status in ("added", "changed"):
            by_file.setdefault(change.file, []).append(change.record)
    errors_before = _error_count(knowledge_dir)
    written: list[str] = []
    for name, records in by_file.items():
        path = _absolute(name, knowledge_dir)
        try:
            previous = path.read_text(encoding="utf-8") if path.exists() else None
            text = _merged(previous, records, path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path}: cannot be written ({exc}); nothing more was written") from None
        if _inside(path, knowledge_dir) and _error_count(knowledge_dir) > errors_before:
            # Never leave the bot a knowledge base that /reload would refuse.
            if previous is None:
                path.unlink()
            else:
                path.write_text(previous, encoding="utf-8")
            problems = load_knowledge(knowledge_dir).error_report(shown=5)
            raise ImportFileError(f"writing {name} would break the knowledge base, so it was not written; "
                                  f"run `run_bot.py validate`. It has {problems}")
        written.append(str(path))
    return written


def _merged(previous: str | None, records: list[College], path: Path) -> str:
    """The file's text with these records replacing those of the same id and the rest appended."""
    comments: list[str] = []
    existing: list[dict[str, Any]] = []
    if previous is not None:
        try:
            data = yaml.safe_load(previous)
        except yaml.YAMLError:
            data = None
        if not isinstance(data, dict) or data.get("kind") != "college" or not isinstance(data.get("records"), list):
            raise ImportUsageError(f"--out {path}: the file exists and is not a college knowledge file; "
                                   "choose another file")
        existing = data["records"]
        # Keep the file's own header comments; comments further down cannot survive a YAML round trip.
        for line in previous.splitlines():
            if not line.startswith("#"):
                break
            comments.append(line)
    if previous is None:
        comments = [f"{IMPORT_MARK}; each record's provenance names the list and the row.",
                    ("# Empty = the list does not say it; speciality codes the knowledge base does not know were "
                     "left out.")]
    fresh = {r.id: _as_yaml(r) for r in records}
    merged = [fresh.pop(r["id"]) if isinstance(r, dict) and r.get("id") in fresh else r for r in existing]
    merged.extend(fresh.values())
    body = yaml.safe_dump({"kind": "college", "records": merged}, allow_unicode=True, sort_keys=False, width=120)
    return "".join(f"{line}\n" for line in comments) + body


YAML_ORDER = ("id", "name", "city", "region", "ownership", "specialities", "specialities_text",
              "licence_return_listed", "languages", "dormitory", "address", "phone", "website", "source",
              "source_kk", "provenance", "unofficial", "as_of")


def _as_yaml(record: College) -> dict[str, Any]:
    """The record as the knowledge files write it: fields in a reading order, empty ones left out."""
    data = record.model_dump(mode="json", exclude_defaults=True)
    data.pop("kind", None)
    return {name: data[name] for name in YAML_ORDER if name in data}


def _error_count(knowledge_dir: Path) -> int:
    """Errors `validate` would report for the knowledge folder."""
    return sum(p.severity == "error" for p in load_knowledge(knowledge_dir).problems)


# --- small helpers -----------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lowercase, Kazakh letters and ё folded to their Russian look-alikes, spaces collapsed, for comparing."""
    text = fold(normalise(text))
    text = re.sub(r"\s*([-/])\s*", r"\1", text)
    return re.sub(r"\s+", " ", text).strip(" :*.")


def _normal_name(name: str) -> str:
    """A name without quotes, punctuation and case, so «Колледж "Болашак"» matches «колледж Болашак»."""
    return re.sub(r"[^\w]+", " ", _fold(name)).strip()


def _domain(website: str) -> str:
    """A website's host without scheme, `www.` and path, so http://www.x.kz/ matches x.kz."""
    host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/")[0]
    return host.removeprefix("www.")


def _relative(path: Path, knowledge_dir: Path) -> str:
    """The path as the knowledge base names files: relative to its folder when inside it."""
    if _inside(path, knowledge_dir):
        return str(path.resolve().relative_to(knowledge_dir.resolve()))
    return str(path.resolve())


def _absolute(name: str, knowledge_dir: Path) -> Path:
    """A file named as `_relative` names it."""
    path = Path(name)
    return path if path.is_absolute() else knowledge_dir / path


def _inside(path: Path, folder: Path) -> bool:
    """True when the path lies within the folder."""
    return path.resolve().is_relative_to(folder.resolve())


def _show(value: Any) -> str:
    """A field value as the diff prints it."""
    if value in (None, "", []):
        return "(empty)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return f"«{value}»" if isinstance(value, str) else str(value)


def _one_line(exc: Exception) -> str:
    """The first line of an exception's message, or its class name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
