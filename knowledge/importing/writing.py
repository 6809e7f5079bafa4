"""Writing imported colleges: new ids, the YAML files they go to, and never a file that breaks the knowledge base."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from knowledge.importing.options import ImportFileError, ImportOptions, ImportUsageError
from knowledge.importing.report import Change
from knowledge.loader import load_knowledge
from knowledge.schema import College

SLUG_LIMIT = 60
LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
    "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "a", "g", "k", "n", "o", "u", "u", "h", "i"]))
# First line of every file the import writes: records in such files may be updated by a later import.
IMPORT_MARK = "# Colleges imported with `run_bot.py import colleges`"
YAML_ORDER = ("id", "name", "name_kk", "city", "region", "ownership", "specialities", "specialities_text",
              "licence_return_listed", "languages", "dormitory", "address", "phone", "website", "source",
              "source_kk", "provenance", "unofficial", "as_of")


def written_by_import(path: Path) -> bool:
    """True for a file an earlier import wrote: its records may be rewritten without losing hand edits."""
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().startswith(IMPORT_MARK)
    except (OSError, UnicodeDecodeError):
        return False


def new_id(college: College, taken: set[str]) -> str:
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


def out_file(region: str, knowledge_dir: Path, options: ImportOptions) -> str:
    """Where a college of this region goes: `--out`, or colleges/imported-<region>.yaml."""
    if options.out is not None:
        return relative(options.out, knowledge_dir)
    return f"colleges/imported-{slugify(region)}.yaml"


def write(changes: list[Change], knowledge_dir: Path) -> list[str]:
    """Merge the added and changed colleges into their files; put a file back if it breaks the knowledge base."""
    by_file: dict[str, list[College]] = {}
    for change in changes:
        if change.status in ("added", "changed"):
            by_file.setdefault(change.file, []).append(change.record)
    errors_before = _error_count(knowledge_dir)
    written: list[str] = []
    for name, records in by_file.items():
        path = absolute(name, knowledge_dir)
        try:
            previous = path.read_text(encoding="utf-8") if path.exists() else None
            text = _merged(previous, records, path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path}: cannot be written ({exc}); nothing more was written") from None
        if inside(path, knowledge_dir) and _error_count(knowledge_dir) > errors_before:
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


def _as_yaml(record: College) -> dict[str, Any]:
    """The record as the knowledge files write it: fields in a reading order, empty ones left out."""
    data = record.model_dump(mode="json", exclude_defaults=True)
    data.pop("kind", None)
    return {name: data[name] for name in YAML_ORDER if name in data}


def _error_count(knowledge_dir: Path) -> int:
    """Errors `validate` would report for the knowledge folder."""
    return sum(p.severity == "error" for p in load_knowledge(knowledge_dir).problems)


def relative(path: Path, knowledge_dir: Path) -> str:
    """The path as the knowledge base names files: relative to its folder when inside it."""
    if inside(path, knowledge_dir):
        return str(path.resolve().relative_to(knowledge_dir.resolve()))
    return str(path.resolve())


def absolute(name: str, knowledge_dir: Path) -> Path:
    """A file named as `_relative` names it."""
    path = Path(name)
    return path if path.is_absolute() else knowledge_dir / path


def inside(path: Path, folder: Path) -> bool:
    """True when the path lies within the folder."""
    return path.resolve().is_relative_to(folder.resolve())
