"""Rows of a college list to College records: name, place, ownership and speciality codes, nothing guessed."""

from __future__ import annotations

import re

from pydantic import ValidationError

from knowledge.checks import citation_problem
from knowledge.importing.matching import domain, name_key
from knowledge.importing.options import ImportOptions, RowProblem
from knowledge.importing.readers import Table
from knowledge.loader import KnowledgeBase
from knowledge.regions import canonical_region, region_of_city
from knowledge.schema import CURRENT_YEAR_LIMIT, College
from knowledge.text import folded_key

# Only words that plainly name a form of ownership; anything else (АО, НАО, учреждение) stays empty.
STATE = re.compile(r"государствен|коммунальн|мемлекеттік|\b(гккп|кгкп|гкп|ргкп|ргп|кгп|ркгп|мкқк|кмқк)\b",
                   re.IGNORECASE)
PRIVATE = re.compile(r"частн|\b(тоо|жеке|жшс)\b", re.IGNORECASE)
CODE_TOKEN = re.compile(r"[\w.]*\d[\w.]*")
YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
UNOFFICIAL = re.compile(r"неофициальн|ресми емес", re.IGNORECASE)


def read_colleges(table: Table, header_row: int, columns: dict[str, int], options: ImportOptions,
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
        keys = [f"name:{name_key(name)}|{folded_key(college.city)}|{college.region}"
                for name in (college.name, college.name_kk) if name]
        if college.website:
            keys.append(f"site:{domain(college.website)}")
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
    name_kk = cells.get("name_kk", "")
    name = cells.get("name", "") or name_kk
    if not name:
        problems.append(RowProblem(number, "no college name; skipped"))
        return None
    region = _region(number, name, cells, options, problems)
    source, as_of = _citation(number, cells, options, problems)
    if not region or not source or as_of is None:
        return None
    specialities, texts = _specialities(number, cells.get("specialities", ""), codes, problems)
    where = f", sheet «{table.sheet}»" if table.sheet else ""
    detail = f"; {cells['source_detail']}" if cells.get("source_detail") else ""
    try:
        return College(
            id="pending", name=name, name_kk=name_kk if name_kk != name else "", city=cells.get("city", ""),
            region=region, ownership=_ownership(number, cells.get("ownership", ""), problems),
            specialities=specialities, specialities_text=texts, address=cells.get("address", ""),
            phone=cells.get("phone", ""), website=cells.get("website", ""), source=source,
            unofficial=bool(UNOFFICIAL.search(source)), as_of=as_of,
            provenance=f"imported from {table.file}{where}, row {number}{detail}")
    except ValidationError as exc:
        error = exc.errors()[0]
        problems.append(RowProblem(number, f"{'.'.join(map(str, error['loc']))}: {error['msg']}; skipped"))
        return None


def _region(number: int, name: str, cells: dict[str, str], options: ImportOptions,
            problems: list[RowProblem]) -> str | None:
    """The row's region: its own cell, else `--region`, else the region its city lies in."""
    region_text = cells.get("region", "") or options.region or ""
    if not region_text:
        if region := region_of_city(cells.get("city", "")):
            return region
        problems.append(RowProblem(number, f"«{name}» has no region; skipped (fill the cell or give --region)"))
        return None
    region = canonical_region(region_text)
    if not region:
        problems.append(RowProblem(number, f"region «{region_text}» is not a region of Kazakhstan; skipped"))
    return region


def _citation(number: int, cells: dict[str, str], options: ImportOptions,
              problems: list[RowProblem]) -> tuple[str, int | None]:
    """The row's own source and year when it gives them, else the list's `--source` and `--as-of`."""
    source = cells.get("source", "") or options.source
    if not source:
        problems.append(RowProblem(number, "no source: fill the row's source cell or give --source; skipped"))
        return "", None
    if why := citation_problem(source):
        problems.append(RowProblem(number, f"source «{source[:60]}» {why}; skipped"))
        return "", None
    years = [int(y) for y in YEAR.findall(cells.get("year", "")) if int(y) <= CURRENT_YEAR_LIMIT]
    as_of = max(years) if years else options.as_of
    if as_of is None:
        problems.append(RowProblem(number, "no year: fill the row's year cell or give --as-of; skipped"))
    return source, as_of


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
