"""Load the YAML knowledge files, check them and build a KnowledgeBase."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from knowledge.checks import citation_problem, is_old, is_stale, language_problem, licence_returns_outside, text_fields
from knowledge.regions import REGIONS
from knowledge.schema import KINDS, MODELS, College, KnowledgeRecord, LabourFact, Profession, Speciality

log = logging.getLogger(__name__)


class KnowledgeError(Exception):
    """The knowledge base cannot be used; the message says which file and field to fix."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a knowledge file, named precisely enough to fix it."""

    file: str
    record: str
    field: str
    category: str  # yaml, structure, schema, code, duplicate, reference, source, language, stale, translation
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.file, self.record and f"record {self.record}",
                                            self.field and f"field {self.field}") if part)
        return f"{self.severity.upper()} [{self.category}] {where}: {self.message}"


@dataclass
class KnowledgeBase:
    """All records, by kind and by id, with the problems found while loading."""

    records: dict[str, list[KnowledgeRecord]] = field(default_factory=lambda: {k: [] for k in KINDS})
    problems: list[Problem] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # record id -> file it came from

    @property
    def ok(self) -> bool:
        """True when no problem is an error (warnings are allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    def all(self) -> Iterable[KnowledgeRecord]:
        """Every record of every kind."""
        for kind in KINDS:
            yield from self.records[kind]

    def get(self, record_id: str) -> KnowledgeRecord | None:
        """The record with this id, if any."""
        return self.by_id.get(record_id)

    @cached_property
    def by_id(self) -> dict[str, KnowledgeRecord]:
        """Records by id; built once, after loading."""
        return {r.id: r for r in self.all()}

    @property
    def specialities(self) -> list[Speciality]:
        return self.records["speciality"]  # type: ignore[return-value]

    @property
    def colleges(self) -> list[College]:
        return self.records["college"]  # type: ignore[return-value]

    @property
    def professions(self) -> list[Profession]:
        return self.records["profession"]  # type: ignore[return-value]

    def colleges_per_region(self) -> dict[str, int]:
        """The number of colleges in each of the 20 regions, the empty ones included."""
        counts = Counter(c.region for c in self.colleges)
        return {region: counts[region] for region in REGIONS} | {r: n for r, n in counts.items() if r not in REGIONS}

    def regions(self) -> list[str]:
        """Distinct regions that have at least one college."""
        return sorted({c.region for c in self.colleges})

    def error_report(self, shown: int = 20) -> str:
        """The errors as lines a person can fix, with their total, at most `shown` of them."""
        errors = [str(p) for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} error(s)" + (f", the first {shown}:" if len(errors) > shown else ":")
        return "\n  ".join([head, *errors[:shown]])

    def counts(self) -> dict[str, int]:
        """Number of records of each kind."""
        return {kind: len(self.records[kind]) for kind in KINDS}

    def summary(self) -> dict[str, Any]:
        """The machine-readable report `validate --json` prints."""
        categories = Counter(p.category for p in self.problems)
        named = sum(1 for s in self.specialities if s.name_kk)
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "regions": len(self.regions()),
            "kazakh_names": {"present": named, "missing": len(self.specialities) - named},
            "sources_not_citations": categories["source"],
            "language_mismatches": categories["language"],
            "stale_yearly_facts": categories["stale"],
            "old_records": categories["old"],
            "colleges_per_region": self.colleges_per_region(),
            "unofficial_records": sum(1 for r in self.all() if r.unofficial),
            "problems": [asdict(p) for p in self.problems],
        }


def content_hash(record: KnowledgeRecord) -> str:
    """A stable hash of a record's content, to re-embed only records that changed."""
    payload = json.dumps(record.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


CORPUS_FOLDER = "intents"
MIN_COLLEGES_PER_REGION = 3  # the target: a few real colleges near every applicant


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Read every *.yaml file under the directory and check it; never raises on bad content."""
    kb = KnowledgeBase()
    if not directory.is_dir():
        kb.problems.append(Problem(str(directory), "", "", "structure",
                                   "knowledge directory not found; check `knowledge.path` in config.yaml"))
        return kb
    # The labelled messages of the intent model live beside the records but are not records (knowledge/intents.py).
    files = sorted(p for p in directory.rglob("*.yaml") if p.relative_to(directory).parts[0] != CORPUS_FOLDER)
    if not files:
        kb.problems.append(Problem(str(directory), "", "", "structure", "no *.yaml knowledge files found"))
    for path in files:
        _load_file(path, directory, kb)
    _check_duplicates(kb)
    unreadable = sorted({p.file for p in kb.problems if p.category in ("yaml", "structure")})
    if unreadable:
        # Records of an unreadable file are missing, so every reference to them would fail too:
        # one typo would bury itself under hundreds of follow-on errors.
        kb.problems.append(Problem(", ".join(unreadable), "", "", "reference",
                                   "references between records not checked until the file(s) above can be read",
                                   severity="warning"))
    else:
        _check_references(kb)
    _check_translations(kb)
    _check_what_users_read(kb)
    _check_coverage(kb)
    return kb


def _load_file(path: Path, root: Path, kb: KnowledgeBase) -> None:
    """Parse one knowledge file and add its valid records to the knowledge base."""
    name = str(path.relative_to(root))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        kb.problems.append(Problem(name, "", "", "yaml", f"not valid YAML{where}: {_first_line(exc)}"))
        return
    if not isinstance(data, dict) or "kind" not in data or "records" not in data:
        kb.problems.append(Problem(name, "", "", "structure",
                                   "a knowledge file must be a mapping with `kind:` and `records:`"))
        return
    kind = data["kind"]
    if kind not in MODELS:
        kb.problems.append(Problem(name, "", "kind", "structure",
                                   f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}"))
        return
    if not isinstance(data["records"], list):
        kb.problems.append(Problem(name, "", "records", "structure", "`records:` must be a list"))
        return
    for position, raw in enumerate(data["records"], start=1):
        record = _parse_record(MODELS[kind], raw, name, position, kb)
        if record is not None:
            kb.records[kind].append(record)  # type: ignore[arg-type]
            kb.origin.setdefault(record.id, name)


def _parse_record(model: type, raw: Any, file: str, position: int, kb: KnowledgeBase) -> KnowledgeRecord | None:
    """Validate one raw record; on failure record a problem per bad field and return None."""
    label = raw.get("id") if isinstance(raw, dict) and raw.get("id") else f"#{position}"
    if not isinstance(raw, dict):
        kb.problems.append(Problem(file, str(label), "", "structure", "a record must be a mapping of fields"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            field_name = ".".join(str(part) for part in error["loc"])
            category = "code" if _is_code_error(error) else "schema"
            kb.problems.append(Problem(file, str(label), field_name, category, _describe(error)))
        return None


def _is_code_error(error: dict[str, Any]) -> bool:
    return error["type"] == "string_pattern_mismatch" and "code" in [str(p) for p in error["loc"]]


def _describe(error: dict[str, Any]) -> str:
    """A message a person can act on, for one pydantic error."""
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (typo?); remove it or fix its name"
    if kind == "string_type":
        return f"must be text, not {error['input']!r}; put the value in quotes"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        if "3W|4S" in pattern:
            return f"{error['input']!r} is not a qualification code like 3W06130102 or 4S07130202"
        if r"\d{8}" in pattern:
            return f"{error['input']!r} is not an 8-digit speciality code; leave it empty if no source gives it"
        return f"{error['input']!r} is not a valid id: use lowercase latin letters, digits and hyphens"
    return error["msg"]


def _check_duplicates(kb: KnowledgeBase) -> None:
    """Ids and speciality codes used by more than one record."""
    seen: Counter[str] = Counter(r.id for r in kb.all())
    for record_id, count in seen.items():
        if count > 1:
            kb.problems.append(Problem(kb.origin.get(record_id, ""), record_id, "id", "duplicate",
                                       f"id is used by {count} records; ids must be unique"))
    codes = Counter(s.code for s in kb.specialities if s.code)
    for code, count in codes.items():
        if count > 1:
            owner = next(s.id for s in kb.specialities if s.code == code)
            kb.problems.append(Problem(kb.origin.get(owner, ""), owner, "code", "duplicate",
                                       f"speciality code {code} is given to {count} records"))


def _check_references(kb: KnowledgeBase) -> None:
    """Specialities named by colleges and professions that no speciality record has."""
    known = {s.id for s in kb.specialities}
    for record in [*kb.colleges, *kb.professions]:
        for ref in record.specialities:
            if ref not in known:
                kb.problems.append(Problem(kb.origin.get(record.id, ""), record.id, "specialities", "reference",
                                           f"speciality {ref!r} does not exist"))


def _check_translations(kb: KnowledgeBase) -> None:
    """Warn where a speciality has no sourced Kazakh name: answers then show the Russian one."""
    for speciality in kb.specialities:
        if not speciality.name_kk:
            kb.problems.append(Problem(kb.origin.get(speciality.id, ""), speciality.id, "name_kk", "translation",
                                       "no sourced Kazakh name; Kazakh answers show the Russian name",
                                       severity="warning"))


def _check_what_users_read(kb: KnowledgeBase) -> None:
    """Citations a person can read, each text in its own language, yearly facts not stale."""
    for record in kb.all():
        file = kb.origin.get(record.id, "")
        for field_name in ("source", "source_kk"):
            text = getattr(record, field_name)
            if text and (why := citation_problem(text)):
                kb.problems.append(Problem(file, record.id, field_name, "source", f"{text[:60]!r} {why}"))
        for path, text in text_fields(record):
            if why := language_problem(path, text):
                kb.problems.append(Problem(file, record.id, path, "language", f"{text[:40]!r} {why}"))
        if is_stale(record):
            kb.problems.append(Problem(file, record.id, "as_of", "stale",
                                       f"a yearly fact from {record.as_of}: check it for this year and update "
                                       "`as_of`", severity="warning"))
        if is_old(record):
            kb.problems.append(Problem(file, record.id, "as_of", "old",
                                       f"the source holds for {record.as_of}, more than five years ago: check that it "
                                       "is still true and cite a newer source", severity="warning"))
        if isinstance(record, LabourFact) and not record.period:
            kb.problems.append(Problem(file, record.id, "period", "year",
                                       "a labour figure without the years it holds for: give `period` as the "
                                       "source gives it", severity="warning"))
        if isinstance(record, College):
            for spec in licence_returns_outside(record):
                kb.problems.append(Problem(file, record.id, "licence_return_listed", "reference",
                                           f"{spec!r} is not among the college's specialities"))


def _check_coverage(kb: KnowledgeBase) -> None:
    """Every region with at least MIN_COLLEGES_PER_REGION colleges, so that a teenager anywhere finds some nearby."""
    per_region = kb.colleges_per_region()
    for region, count in per_region.items():
        if count < MIN_COLLEGES_PER_REGION:
            kb.problems.append(Problem("colleges", "", "region", "coverage",
                                       f"{region}: {count} college(s), fewer than {MIN_COLLEGES_PER_REGION}; import a "
                                       "sourced list with `run_bot.py import colleges`", severity="warning"))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
