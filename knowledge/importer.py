"""Import a regional college list (CSV or XLSX) into the knowledge base, never inventing or guessing a fact.

Decisions an admin should know:
- A speciality code that is not exactly 8 digits, or that the knowledge base does not know, is never padded or
  guessed: it is left out and reported by row; the college itself is still imported without it.
- Rows without a name, with no or an unknown region, and duplicates within the file are skipped and reported.
  A row with a city but no region gets the region the city lies in (the 2022 regions included).
- Each row may carry its own `source` and `year`; otherwise `--source` and `--as-of` hold for the whole list.
- An existing college (the same website, or the same name in the same region, its Russian and Kazakh forms read
  as one) keeps its id. It is updated only in a file the import writes (`--out`); one in a hand-written file is
  reported, never rewritten.
- When an existing record is updated, the fields the file gives replace the old ones; the fields it does not give
  are kept, and `provenance` says so.

The jobs live in knowledge/importing/: readers, rows, matching, writing and the report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from knowledge.checks import citation_problem
from knowledge.importing.matching import diffs, find_existing, updated
from knowledge.importing.options import (FIELDS, ImporterError, ImportFileError, ImportOptions, ImportUsageError,
                                         RowProblem)
from knowledge.importing.readers import Table, find_columns, read_table
from knowledge.importing.report import Change, ImportReport
from knowledge.importing.rows import read_colleges
from knowledge.importing.writing import absolute, inside, new_id, out_file, slugify, write, written_by_import
from knowledge.loader import KnowledgeBase, load_knowledge
from knowledge.regions import REGIONS, canonical_region
from knowledge.schema import CURRENT_YEAR_LIMIT, College

__all__ = ["ImporterError", "ImportFileError", "ImportOptions", "ImportUsageError", "ImportReport", "Table",
           "canonical_region", "import_colleges", "parse_mapping", "read_table", "slugify"]


def import_colleges(knowledge_dir: Path, options: ImportOptions) -> ImportReport:
    """Read the list, compare it with the knowledge base and, unless a dry run, write the colleges."""
    _check_options(options)
    kb = load_knowledge(knowledge_dir)
    table = read_table(options.file, options.sheet)
    header_row, columns, ignored = find_columns(table, options.mapping, need_region=not options.region)
    _check_citation_given(options, columns)
    report = ImportReport(table, header_row, ignored, dry_run=options.dry_run,
                          before=Counter(c.region for c in kb.colleges))
    if not kb.ok:
        errors = sum(p.severity == "error" for p in kb.problems)
        report.notes.append(f"note: the knowledge base already has {errors} error(s); run `run_bot.py validate`")
    colleges = read_colleges(table, header_row, columns, options, kb, report.problems)
    report.changes = _plan(colleges, kb, knowledge_dir, options, report.problems)
    if not options.dry_run and report.changes:
        report.written = write(report.changes, knowledge_dir)
        if options.out and not inside(options.out, knowledge_dir):
            report.notes.append(f"note: {options.out} is outside the knowledge folder {knowledge_dir}: "
                                "the bot does not read it")
    return report


def _check_options(options: ImportOptions) -> None:
    """Refuse options the import cannot honour, before reading anything."""
    if options.source and (why := citation_problem(options.source)):
        raise ImportUsageError(f"--source {options.source!r} {why}")
    if options.as_of is not None and not 2000 <= options.as_of <= CURRENT_YEAR_LIMIT:
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


def _check_citation_given(options: ImportOptions, columns: dict[str, int]) -> None:
    """Every college needs a source and a year: from the list's own columns or from the options."""
    if not options.source and "source" not in columns:
        raise ImportUsageError("--source is required (the list has no source column): name the document or page "
                               "the list comes from")
    if options.as_of is None and "year" not in columns:
        raise ImportUsageError("--as-of is required (the list has no year column): give the year the list holds for")


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`--map FIELD=HEADER` options as a dict; a malformed one is a usage error."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, header = item.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise ImportUsageError(f"--map {item!r}: write it as FIELD=HEADER, e.g. --map name=Наименование")
        mapping[name.strip().lower()] = header.strip()
    return mapping


def _plan(colleges: list[tuple[int, College]], kb: KnowledgeBase, knowledge_dir: Path, options: ImportOptions,
          problems: list[RowProblem]) -> list[Change]:
    """Match each college to an existing record, or give it a new id, and say what would change."""
    taken = {r.id for r in kb.all()}
    matched: dict[str, int] = {}  # existing id -> the row that matched it
    changes: list[Change] = []
    for row, college in colleges:
        target = out_file(college.region, knowledge_dir, options)
        old = find_existing(college, kb.colleges)
        if old is None:
            record = college.model_copy(update={"id": new_id(college, taken)})
            taken.add(record.id)
            changes.append(Change("added", record, row, target))
            continue
        if old.id in matched:
            problems.append(RowProblem(row, f"«{college.name}» is the same college ({old.id}) as row "
                                            f"{matched[old.id]}; skipped"))
            continue
        matched[old.id] = row
        new = updated(old, college)
        changed = diffs(old, new)
        home = kb.origin.get(old.id, "")
        if not changed:
            changes.append(Change("unchanged", old, row, home))
        elif home == target or written_by_import(absolute(home, knowledge_dir)):
            changes.append(Change("changed", new, row, home, changed))
        else:
            changes.append(Change("elsewhere", old, row, home, changed))
    return changes
